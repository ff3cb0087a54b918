# Reference fixture for the ordinary (maximum-likelihood) logistic model family:
#   Rscript tests/reference/R/logistic.R   (from the repository root)
# Simulates a survey-shaped data set (1,500 rows, 40 clinics, some missing values),
# writes it to tests/reference/data/logistic.csv and the R results to
# tests/reference/fixtures/logistic.json. Compared with analysis.models.logistic and
# analysis.diagnostics by tests/reference/test_r_logistic.py.
source("tests/reference/R/_common.R")
suppressPackageStartupMessages({
  library(sandwich)
  library(pROC)
})

set.seed(20261201)
n <- 1500
clinic <- sample(1:40, n, replace = TRUE)
clinic_effect <- rnorm(40, 0, 0.5)[clinic]
posture <- sample(1:4, n, replace = TRUE, prob = c(0.35, 0.3, 0.2, 0.15))  # ordinal
sex <- sample(1:2, n, replace = TRUE)                                      # 2 levels
sitting <- sample(0:10, n, replace = TRUE)                                 # hours, whole
lp <- -1.6 + c(0, 0.3, 0.6, 1.0)[posture] - 0.35 * (sex == 2) + 0.08 * sitting + clinic_effect
spasm <- rbinom(n, 1, plogis(lp))
# Missing values in the outcome, the exposure and both confounders.
spasm[sample(n, 20)] <- NA
posture[sample(n, 45)] <- NA
sex[sample(n, 15)] <- NA
sitting[sample(n, 60)] <- NA
raw <- data.frame(id = seq_len(n), clinic = clinic, posture = posture, sex = sex,
                  sitting = sitting, spasm = spasm)
write_data(raw, "logistic")

# Complete cases over every model variable (what logistic() uses for crude and adjusted).
cc <- raw[complete.cases(raw[, c("spasm", "posture", "sex", "sitting")]), ]
cc$posture <- factor(cc$posture, levels = 1:4, labels = c("Good", "Fair", "Poor", "Very poor"))
cc$sex <- factor(cc$sex, levels = 1:2, labels = c("Female", "Male"))
# Tight convergence so that both sides agree to ~1e-9 (R's default epsilon is 1e-8).
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
fit_glm <- function(formula) glm(formula, family = binomial, data = cc, control = ctl)

null <- fit_glm(spasm ~ 1)
crude <- fit_glm(spasm ~ posture)
adjusted <- fit_glm(spasm ~ posture + sex + sitting)
no_posture <- fit_glm(spasm ~ sex + sitting)
interaction <- fit_glm(spasm ~ posture + sex + sitting + posture:sex)
cc$posture_score <- as.numeric(cc$posture) - 1
trend_crude <- fit_glm(spasm ~ posture_score)
trend_adjusted <- fit_glm(spasm ~ sex + sitting + posture_score)

covs <- function(fit) list(
  model = vcov(fit),
  HC0 = vcovHC(fit, type = "HC0"),
  HC1 = vcovHC(fit, type = "HC1"),
  # Ours (as Stata and statsmodels): meat times G/(G-1) * (n-1)/(n-k), which is
  # vcovCL's type "HC1" with cadjust = TRUE. vcovCL's default for a glm is type "HC0"
  # (G/(G-1) only), smaller by the factor (n-k)/(n-1): written too, as cluster_HC0.
  cluster = vcovCL(fit, cluster = ~clinic, type = "HC1", cadjust = TRUE),
  cluster_HC0 = vcovCL(fit, cluster = ~clinic)
)

model_summary <- function(fit) {
  V <- covs(fit)
  b <- coef(fit)
  z <- qnorm(0.975)
  se <- lapply(V, function(v) unname(sqrt(diag(v))))
  list(
    term = names(b), estimate = unname(b), se = se$model,
    se_HC0 = se$HC0, se_HC1 = se$HC1, se_cluster = se$cluster, se_cluster_HC0 = se$cluster_HC0,
    or = unname(exp(b)), or_low = unname(exp(b - z * se$model)),
    or_high = unname(exp(b + z * se$model)),
    p = unname(2 * pnorm(-abs(b / se$model))),
    or_low_cluster = unname(exp(b - z * se$cluster)),
    or_high_cluster = unname(exp(b + z * se$cluster)),
    loglik = as.numeric(logLik(fit)), deviance = deviance(fit), aic = AIC(fit),
    bic = BIC(fit), n = nobs(fit), events = sum(fit$y), df = length(b)
  )
}

# Wald chi-square of a multi-column term, b' V^-1 b, with each covariance.
wald_term <- function(fit, pattern) {
  idx <- grep(pattern, names(coef(fit)))
  b <- coef(fit)[idx]
  out <- lapply(covs(fit), function(V) {
    stat <- drop(t(b) %*% solve(V[idx, idx]) %*% b)
    list(statistic = stat, df = length(idx), p = pchisq(stat, length(idx), lower.tail = FALSE))
  })
  out$terms <- names(b)
  out
}

lr <- function(small, big) {
  a <- anova(small, big, test = "LRT")
  list(statistic = a$Deviance[2], df = a$Df[2], p = a$`Pr(>Chi)`[2])
}

trend <- function(fit) {
  lapply(covs(fit), function(V) {
    b <- unname(coef(fit)["posture_score"])
    se <- sqrt(V["posture_score", "posture_score"])
    list(estimate = b, se = se, statistic = (b / se)^2, p = 2 * pnorm(-abs(b / se)))
  })
}

# AUC with DeLong's interval (pROC), of the adjusted model's fitted probabilities.
auc_of <- function(fit) {
  r <- roc(fit$y, fitted(fit), levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  list(auc = as.numeric(ci[2]), ci_low = as.numeric(ci[1]), ci_high = as.numeric(ci[3]),
       se = sqrt(var(r, method = "delong")))
}

# Hosmer-Lemeshow with the grouping of analysis.diagnostics (hosmer_lemeshow, _groups):
# respondents sorted by predicted risk; predictions that agree to 1e-12 are one value and
# stay in one group; a value goes to the group of its first respondent, group
# floor(g * (W_before + 1/2) / W) (capped at g-1), W_before = respondents with lower risk.
# C = sum_g (O_g - E_g)^2 / (E_g (1 - E_g / n_g)) on (non-empty groups - 2) df.
hosmer_lemeshow <- function(y, p, g = 10) {
  o <- order(p)
  ps <- p[o]
  ys <- y[o]
  value <- cumsum(c(TRUE, diff(ps) > 1e-12))
  w_before <- (seq_along(ps) - 1)[match(unique(value), value)]
  group_of_value <- pmin(floor(g * (w_before + 0.5) / length(ps)), g - 1)
  group <- group_of_value[value]
  n_g <- tapply(rep(1, length(ys)), group, sum)
  obs <- tapply(ys, group, sum)
  expd <- tapply(ps, group, sum)
  stat <- sum((obs - expd)^2 / (expd * (1 - expd / n_g)))
  df <- length(n_g) - 2
  list(statistic = stat, df = df, p = pchisq(stat, df, lower.tail = FALSE),
       groups = length(n_g), n = unname(n_g), observed = unname(obs), expected = unname(expd))
}

results <- list(
  n_read = nrow(raw),
  n_complete = nrow(cc),
  missing_by_column = lapply(raw[, c("spasm", "posture", "sex", "sitting")],
                             function(x) sum(is.na(x))),
  models = list(null = model_summary(null), crude = model_summary(crude),
                adjusted = model_summary(adjusted), interaction = model_summary(interaction)),
  lr_tests = list(crude_posture = lr(null, crude), adjusted_posture = lr(no_posture, adjusted),
                  interaction = lr(adjusted, interaction)),
  wald_tests = list(crude_posture = wald_term(crude, "^posture"),
                    adjusted_posture = wald_term(adjusted, "^posture[A-Z]"),
                    interaction = wald_term(interaction, ":")),
  trend = list(crude = trend(trend_crude), adjusted = trend(trend_adjusted)),
  auc = auc_of(adjusted),
  hosmer_lemeshow = hosmer_lemeshow(adjusted$y, fitted(adjusted))
)

write_fixture(results, "logistic", c("stats", "sandwich", "pROC", "jsonlite"),
              "tests/reference/R/logistic.R",
              notes = c(
                "glm(binomial) with epsilon 1e-14; factors treatment coded (posture unordered in R).",
                "HC0/HC1: sandwich::vcovHC; cluster: vcovCL(cluster = ~clinic, type = 'HC1', cadjust = TRUE), meat * G/(G-1) * (n-1)/(n-k) as ours; cluster_HC0: vcovCL's default for glm (type HC0, G/(G-1) only).",
                "Wald tests: b' V^-1 b over the term's columns, by hand, with each covariance.",
                "Trend: posture scored 0..3 replaces its dummies; Wald z.",
                "AUC: pROC::ci.auc(method = 'delong').",
                "Hosmer-Lemeshow: by hand, grouping of analysis.diagnostics (see hosmer_lemeshow() above)."))
