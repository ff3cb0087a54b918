# Reference fixture for count models (Poisson and negative binomial, with and without an
# exposure-time offset):
#   Rscript tests/reference/R/counts.R   (from the repository root)
# Simulates 1,500 respondents (a three-level factor, a numeric, months of follow-up, 40
# clinics, overdispersed counts, a few missing values), writes them to
# tests/reference/data/counts.csv and R's results (stats::glm, sandwich, MASS::glm.nb) to
# tests/reference/fixtures/counts.json. Compared with analysis.models.counts by
# tests/reference/test_r_counts.py.
source("tests/reference/R/_common.R")
suppressPackageStartupMessages({
  library(MASS)
  library(sandwich)
})

set.seed(20261203)
n <- 1500
clinic <- sample(1:40, n, replace = TRUE)
posture <- sample(1:3, n, replace = TRUE, prob = c(0.45, 0.35, 0.2))
age <- round(runif(n, 20, 70))
months <- round(runif(n, 1, 36), 1)  # follow-up time: the exposure of the rate
clinic_effect <- rnorm(40, 0, 0.3)[clinic]
rate <- exp(-2.2 + c(0, 0.3, 0.6)[posture] + 0.012 * (age - 45) + clinic_effect)
mu <- months * rate
# Overdispersed: NB2 with theta = 1.5 (alpha = 1/theta = 0.67).
episodes <- rnbinom(n, mu = mu, size = 1.5)
# Nearly Poisson (no clinic effect, theta = 50, alpha = 0.02): the dispersion is small but
# its ML estimate is inside the parameter space. statsmodels' NegativeBinomial (Newton,
# offset) returned NaN on such data (issue 14, item 2).
episodes_low <- rnbinom(n, mu = mu / exp(clinic_effect), size = 50)
episodes[sample(n, 12)] <- NA
posture[sample(n, 20)] <- NA
months[sample(n, 8)] <- NA
raw <- data.frame(id = seq_len(n), clinic = clinic, posture = posture, age = age,
                  months = months, episodes = episodes, episodes_low = episodes_low)
write_data(raw, "counts")

ctl <- glm.control(epsilon = 1e-13, maxit = 200)
# Complete cases over the model's variables (months only where it is the offset), as
# counts() leaves rows out.
complete <- function(outcome, offset = TRUE) {
  cc <- raw[complete.cases(raw[, c(outcome, "posture", "age", if (offset) "months")]), ]
  cc$posture <- factor(cc$posture, levels = 1:3, labels = c("Good", "Fair", "Poor"))
  cc
}
cc <- complete("episodes")
cc_plain <- complete("episodes", offset = FALSE)
cc_low <- complete("episodes_low")

covs <- function(fit) {
  list(model = unname(vcov(fit)),
       HC0 = unname(vcovHC(fit, type = "HC0")),
       HC1 = unname(vcovHC(fit, type = "HC1")),
       # As statsmodels and Stata: meat times G/(G-1) (n-1)/(n-k) = vcovCL type "HC1" with
       # cadjust = TRUE. vcovCL's default ("HC0", G/(G-1) only) is written as cluster_HC0.
       cluster = unname(vcovCL(fit, cluster = ~clinic, type = "HC1", cadjust = TRUE)),
       cluster_HC0 = unname(vcovCL(fit, cluster = ~clinic)))
}
se_of <- function(v) sqrt(diag(v))

poisson_summary <- function(fit) {
  v <- covs(fit)
  list(term = names(coef(fit)), estimate = unname(coef(fit)), se = se_of(v$model),
       se_HC0 = se_of(v$HC0), se_HC1 = se_of(v$HC1), se_cluster = se_of(v$cluster),
       se_cluster_HC0 = se_of(v$cluster_HC0),
       loglik = as.numeric(logLik(fit)), deviance = deviance(fit),
       null_deviance = fit$null.deviance, aic = AIC(fit), bic = BIC(fit),
       df_residual = fit$df.residual, n = nobs(fit), converged = fit$converged)
}
# glm.nb: beta by IRLS given theta (SEs from the expected information at the final theta,
# theta treated as known), theta by ML given mu (theta.ml; SE from its observed
# information); alternated to convergence. statsmodels' alpha is 1/theta, so
# SE(alpha) = SE(theta) / theta^2 (delta method).
negbin_summary <- function(fit, poisson) {
  lr <- as.numeric(2 * (logLik(fit) - logLik(poisson)))
  list(term = names(coef(fit)), estimate = unname(coef(fit)), se = unname(se_of(vcov(fit))),
       se_HC0 = unname(se_of(vcovHC(fit, type = "HC0"))),
       theta = fit$theta, se_theta = fit$SE.theta,
       alpha = 1 / fit$theta, se_alpha = fit$SE.theta / fit$theta^2,
       loglik = as.numeric(logLik(fit)), twologlik = fit$twologlik,
       deviance = deviance(fit), aic = AIC(fit), bic = BIC(fit),
       df_logLik = attr(logLik(fit), "df"), n = nobs(fit), converged = fit$converged,
       # LR test of alpha = 0 (the Poisson model) on the boundary of the parameter space:
       # the statistic is a 50:50 mixture of chi2_0 and chi2_1 (Self & Liang 1987).
       lr_alpha = lr, lr_alpha_p = 0.5 * pchisq(lr, 1, lower.tail = FALSE))
}

f_plain <- episodes ~ posture + age
f_offset <- episodes ~ posture + age + offset(log(months))
pois <- glm(f_plain, family = poisson, data = cc_plain, control = ctl)
pois_off <- glm(f_offset, family = poisson, data = cc, control = ctl)
crude_off <- glm(episodes ~ posture + offset(log(months)), family = poisson, data = cc,
                 control = ctl)
nb <- glm.nb(f_plain, data = cc_plain, control = ctl)
nb_off <- glm.nb(f_offset, data = cc, control = ctl)
pois_low <- glm(episodes_low ~ posture + age + offset(log(months)), family = poisson,
                data = cc_low, control = ctl)
# Here the sample is underdispersed: the likelihood rises as theta -> Inf (alpha -> 0, the
# Poisson model), and glm.nb stops at its iteration limit with a huge theta and no SE.
# Its warnings are kept in the fixture. At theta ~ 1e14 its log-likelihood is lost to
# cancellation (lgamma(theta + y) - lgamma(theta)), so the fixture's negbin_low loglik, AIC
# and lr_alpha are not usable: the limit is the Poisson fit's (poisson_low); the
# coefficients, SEs and deviance are (they equal Poisson's to ~1e-12).
low_warnings <- character(0)
nb_low <- withCallingHandlers(
  glm.nb(episodes_low ~ posture + age + offset(log(months)), data = cc_low, control = ctl),
  warning = function(w) {
    low_warnings <<- c(low_warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  })

# Cameron & Trivedi (1990) auxiliary regression on the Poisson fit with offset.
mu_off <- fitted(pois_off)
aux <- lm(I(((cc$episodes - mu_off)^2 - cc$episodes) / mu_off) ~ 0 + mu_off)
ct <- summary(aux)$coefficients

results <- list(
  n_rows = n, n_complete = nrow(cc), n_complete_plain = nrow(cc_plain),
  n_complete_low = nrow(cc_low),
  poisson = poisson_summary(pois),
  poisson_offset = poisson_summary(pois_off),
  poisson_offset_crude = poisson_summary(crude_off),
  negbin = negbin_summary(nb, pois),
  negbin_offset = negbin_summary(nb_off, pois_off),
  poisson_low = poisson_summary(pois_low),
  negbin_low = c(negbin_summary(nb_low, pois_low), list(r_warnings = unique(low_warnings))),
  cameron_trivedi = list(alpha = ct[1, 1], se = ct[1, 2], t = ct[1, 3],
                         df = aux$df.residual,
                         p_one_sided = pt(ct[1, 3], aux$df.residual, lower.tail = FALSE))
)
write_fixture(results, "counts", c("MASS", "sandwich", "jsonlite"), "tests/reference/R/counts.R",
              notes = paste(
                "glm(poisson) and MASS::glm.nb (log link); SEs of glm.nb from the expected",
                "information with theta known; alpha = 1/theta; cluster = vcovCL(type='HC1',",
                "cadjust=TRUE); LR of alpha = 0 boundary-corrected: 0.5 P(chi2_1 > LR)."))
