# Reference fixture for conditional (matched) logistic regression:
#   Rscript tests/reference/R/conditional.R   (from the repository root)
# Simulates a matched case-control study (200 matched sets, 1:2 and 1:3 matching, a
# three-level factor exposure, a numeric covariate, sets grouped in 25 clinics, and an
# interviewer who varies within sets), writes it to tests/reference/data/conditional.csv
# and survival::clogit's results to tests/reference/fixtures/conditional.json.
# Compared with analysis.models.conditional_logistic by
# tests/reference/test_r_conditional.py.
source("tests/reference/R/_common.R")
suppressPackageStartupMessages(library(survival))

set.seed(20261202)
n_sets <- 200
rows <- list()
for (s in seq_len(n_sets)) {
  m <- if (s %% 3 == 0) 3 else 2            # controls per case: 1:2 and 1:3 sets
  size <- m + 1
  posture <- sample(1:3, size, replace = TRUE, prob = c(0.45, 0.35, 0.2))
  sitting <- round(rnorm(size, 6, 2), 1)
  # The case is drawn within the set with odds exp(lp): OR 1.6 (Fair), 2.5 (Poor),
  # 1.1 per hour of sitting.
  lp <- c(0, log(1.6), log(2.5))[posture] + log(1.1) * sitting
  case <- sample(size, 1, prob = exp(lp))
  rows[[s]] <- data.frame(set = sprintf("M%03d", s), case = as.integer(seq_len(size) == case),
                          posture = posture, sitting = sitting,
                          clinic = (s - 1) %% 25 + 1,
                          interviewer = sample(1:30, size, replace = TRUE))
}
d <- do.call(rbind, rows)
# Rows are written in a shuffled order: sets are not contiguous in the file.
d <- d[sample(nrow(d)), ]
d$id <- seq_len(nrow(d))
# A few missing values: one case (its set then has no case) and two controls.
d$sitting[which(d$case == 1)[7]] <- NA
d$posture[which(d$case == 0)[c(11, 40)]] <- NA
write_data(d[, c("id", "set", "case", "posture", "sitting", "clinic", "interviewer")],
           "conditional")

cc <- d[complete.cases(d), ]
cc$posture <- factor(cc$posture, levels = 1:3, labels = c("Good", "Fair", "Poor"))
# Tight convergence (coxph's eps must stay above toler.chol, 1.8e-12).
ctl <- coxph.control(eps = 1e-11, iter.max = 100)
fit_clogit <- function(formula, method = "exact") {
  clogit(formula, data = cc, control = ctl, method = method)
}

summ <- function(fit) {
  list(term = names(coef(fit)), estimate = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))),
       loglik = fit$loglik[2], loglik_null = fit$loglik[1],
       lr_statistic = unname(2 * diff(fit$loglik)), lr_df = length(coef(fit)),
       lr_p_value = unname(pchisq(2 * diff(fit$loglik), length(coef(fit)), lower.tail = FALSE)),
       aic = AIC(fit), n = fit$n, nevent = fit$nevent)
}
robust <- function(fit) {
  list(term = names(coef(fit)), estimate = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))), naive_se = unname(sqrt(diag(fit$naive.var))),
       vcov = unname(vcov(fit)))
}

adjusted <- fit_clogit(case ~ posture + sitting + strata(set))
crude_posture <- fit_clogit(case ~ posture + strata(set))
crude_sitting <- fit_clogit(case ~ sitting + strata(set))
# Robust variance: coxph's "dfbeta" sandwich, D'D with D the dfbeta residuals (score
# residuals times the model variance) summed within each cluster; no small-sample factor.
# With one case per set the exact conditional likelihood equals Breslow's partial
# likelihood, and the score residual of row i in set s is (y_i - p_i)(x_i - xbar_s),
# p_i = exp(x_i b) / sum_s exp(x_j b), xbar_s = sum_s p_j x_j.
# clogit refuses a robust variance with its default method "exact", so these fits use
# "breslow": with one case per set it maximises the same likelihood (checked below).
robust_formula <- function(cl) {
  as.formula(paste("case ~ posture + sitting + strata(set) + cluster(", cl, ")"))
}
by_set <- fit_clogit(robust_formula("set"), "breslow")
by_clinic <- fit_clogit(robust_formula("clinic"), "breslow")
by_interviewer <- fit_clogit(robust_formula("interviewer"), "breslow")
stopifnot(max(abs(coef(by_set) - coef(adjusted))) < 1e-8,
          abs(by_set$loglik[2] - adjusted$loglik[2]) < 1e-8)
method_used <- c(model = adjusted$method, robust = by_set$method)

results <- list(
  n_rows = nrow(d), n_complete = nrow(cc),
  n_sets_complete = length(unique(cc$set)),
  n_sets_informative = sum(tapply(cc$case, cc$set, function(v) any(v == 1) && any(v == 0))),
  adjusted = summ(adjusted),
  crude_posture = summ(crude_posture),
  crude_sitting = summ(crude_sitting),
  robust_set = robust(by_set),
  robust_clinic = robust(by_clinic),
  robust_interviewer = robust(by_interviewer),
  ties_method = method_used
)
write_fixture(results, "conditional", c("survival", "jsonlite"), "tests/reference/R/conditional.R",
              notes = paste(
                "clogit (coxph with strata(set), ties method as given); robust variance =",
                "coxph's sandwich sum_g D_g' D_g over clusters g, with D the dfbeta residuals,",
                "no small-sample factor (G/(G-1) is not applied). Sets without a case after",
                "complete cases carry no information and clogit drops them implicitly."))
