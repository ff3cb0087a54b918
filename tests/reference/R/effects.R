# Prevalence ratios and differences: the reference for analysis.models.standardise
# (marginal standardisation of a logistic model) and analysis.models.risk
# (modified Poisson, log-binomial).
#
# Data: the stratified cluster sample design.R simulates (tests/reference/data/
# design.csv: 1,241 respondents, 5 strata, 14 PSUs, weights, `posture` Good/Fair/
# Poor, `sex`, `age` missing on 25 rows, binary `spasm`); `make fixtures` runs
# design.R first (alphabetical order). Models use the 1,216 complete cases.
#
# Marginal standardisation, written out here rather than taken from a package:
# for each level j of the exposure, every respondent's design row is rebuilt
# with the exposure set to j (a numeric exposure: its value + 1), predicted
# with `predict(type = "link")`, and averaged: mu_j = sum w p_ij / sum w.
#  * without a design: Var(mu) = G V G' (delta method conditional on the
#    covariates; G_j = sum w p (1-p) x_j / sum w; V = vcov(glm));
#  * under the design: the linearised values z_ij = w_i (p_ij - mu_j) / sum w +
#    (w_i x_i (y_i - p_i))' A^-1 G_j' (A = X' diag(w p (1-p)) X) of each row, 0
#    on the rows outside the complete cases, and Var(mu) = vcov(svytotal(~I(z/w),
#    design)) -- survey's own Taylor-linearised variance of the totals of z,
#    with the whole design (the complete cases as a domain). Its df: the
#    model's df.residual (degf + 1 - rank), as svyglm's coefficients. svyglm's influence = TRUE is not used: survey
#    4.1 has a typo there (`estfun < ...`). As a check on the linearisation,
#    vcov(svytotal) of the coefficients' linearised values A^-1 w x (y - p) is
#    written beside vcov(svyglm).
#  * PR = mu_j / mu_ref, se(log PR)^2 = c' Var c with c = e_j/mu_j - e_ref/mu_ref;
#    PD = mu_j - mu_ref; normal (or t on df) intervals and p-values.
# survey::svypredmeans (Graubard & Korn 1999) is also written: it adds the
# two variance parts without their covariance, so it differs from ours.
#
# Direct models: glm(poisson) + sandwich::vcovHC(type = "HC0") (Zou 2004);
# svyglm(quasipoisson); glm(binomial(link = "log")).
source("tests/reference/R/_common.R")
suppressPackageStartupMessages({library(survey); library(sandwich)})

d <- read.csv(data_path("design"))
d$posture_f <- factor(d$posture, levels = 1:3, labels = c("Good", "Fair", "Poor"))
d$sex_f <- factor(d$sex, levels = 1:2, labels = c("Female", "Male"))
cc <- d[!is.na(d$age), ]
ctl <- glm.control(epsilon = 1e-12, maxit = 100)

scenarios <- function(data, var) {
  if (is.factor(data[[var]])) {
    lapply(levels(data[[var]]), function(l) {
      nd <- data; nd[[var]] <- factor(l, levels = levels(data[[var]])); nd })
  } else {
    nd <- data; nd[[var]] <- nd[[var]] + 1
    list(data, nd)
  }
}

# Standardised means, gradient (rows: scenarios) and predictions of each scenario.
standardised_means <- function(fit, data, var, w) {
  tt <- delete.response(terms(fit))
  preds <- list(); G <- NULL; mu <- c()
  for (nd in scenarios(data, var)) {
    X <- model.matrix(tt, model.frame(tt, nd, xlev = fit$xlevels))
    p <- as.vector(plogis(X %*% coef(fit)))
    mu <- c(mu, sum(w * p) / sum(w))
    G <- rbind(G, colSums(w * p * (1 - p) * X) / sum(w))
    preds[[length(preds) + 1]] <- p
  }
  list(mu = mu, G = G, preds = do.call(cbind, preds))
}

contrasts_of <- function(mu, V, df = Inf) {
  q <- qt(0.975, df)
  out <- list(risk = mu, risk_se = sqrt(diag(V)), pr = c(), pr_se_log = c(), pr_low = c(),
              pr_high = c(), pr_p = c(), pd = c(), pd_se = c(), pd_low = c(), pd_high = c(),
              pd_p = c())
  for (j in seq_along(mu)[-1]) {
    cl <- rep(0, length(mu)); cl[j] <- 1 / mu[j]; cl[1] <- -1 / mu[1]
    cd <- rep(0, length(mu)); cd[j] <- 1; cd[1] <- -1
    sl <- sqrt(drop(t(cl) %*% V %*% cl)); sd <- sqrt(drop(t(cd) %*% V %*% cd))
    pr <- mu[j] / mu[1]; pd <- mu[j] - mu[1]
    out$pr <- c(out$pr, pr); out$pr_se_log <- c(out$pr_se_log, sl)
    out$pr_low <- c(out$pr_low, exp(log(pr) - q * sl))
    out$pr_high <- c(out$pr_high, exp(log(pr) + q * sl))
    out$pr_p <- c(out$pr_p, 2 * pt(-abs(log(pr) / sl), df))
    out$pd <- c(out$pd, pd); out$pd_se <- c(out$pd_se, sd)
    out$pd_low <- c(out$pd_low, pd - q * sd); out$pd_high <- c(out$pd_high, pd + q * sd)
    out$pd_p <- c(out$pd_p, 2 * pt(-abs(pd / sd), df))
  }
  out
}

model_based <- function(formula, var) {
  fit <- glm(formula, family = binomial(), data = cc, control = ctl)
  s <- standardised_means(fit, cc, var, rep(1, nrow(cc)))
  V <- s$G %*% vcov(fit) %*% t(s$G)
  c(list(formula = deparse(formula), exposure = var), contrasts_of(s$mu, V))
}

# ---- without a design ------------------------------------------------------------
unweighted <- list(
  crude_posture = model_based(spasm ~ posture_f, "posture_f"),
  adjusted_posture = model_based(spasm ~ posture_f + age + sex_f, "posture_f"),
  adjusted_sex = model_based(spasm ~ posture_f + age + sex_f, "sex_f"),
  adjusted_age = model_based(spasm ~ posture_f + age + sex_f, "age"),
  crude_age = model_based(spasm ~ age, "age"),
  interaction_posture = model_based(spasm ~ posture_f + sex_f + posture_f:sex_f + age,
                                    "posture_f")
)
# The crude PR by hand (Fair vs Good): sqrt(1/a - 1/n1 + 1/c - 1/n0).
tab <- table(cc$posture_f, cc$spasm)
a <- tab["Fair", "1"]; n1 <- sum(tab["Fair", ]); c0 <- tab["Good", "1"]; n0 <- sum(tab["Good", ])
hand <- list(pr = (a / n1) / (c0 / n0), se_log = sqrt(1 / a - 1 / n1 + 1 / c0 - 1 / n0))

# ---- under the design ----------------------------------------------------------------
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
inside <- !is.na(d$age)
design_based <- function(formula, var) {
  sub <- subset(des, !is.na(age))
  fit <- svyglm(formula, design = sub, family = quasibinomial(), control = ctl)
  w <- weights(des)[inside]
  s <- standardised_means(fit, cc, var, w)
  X <- model.matrix(fit); p <- as.vector(fitted(fit)); y <- cc$spasm
  A_inv <- solve(t(X) %*% (X * (w * p * (1 - p))))
  coef_lin <- (X * (w * (y - p))) %*% A_inv  # linearised values of the coefficients
  z <- sweep(s$preds, 2, s$mu) * w / sum(w) + coef_lin %*% t(s$G)
  full <- matrix(0, nrow(d), ncol(z)); full[inside, ] <- z / w  # svytotal weights its variable: it totals w (z / w)
  colnames(full) <- paste0("z", seq_len(ncol(z)))
  dz <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, nest = TRUE,
                  data = cbind(d, as.data.frame(full)))
  V <- vcov(svytotal(as.formula(paste("~", paste(colnames(full), collapse = "+"))), dz))
  # check of the linearisation: the coefficients' own linearised values reproduce vcov(svyglm)
  cf <- matrix(0, nrow(d), ncol(coef_lin)); cf[inside, ] <- coef_lin / w
  colnames(cf) <- paste0("b", seq_len(ncol(cf)))
  db <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, nest = TRUE,
                  data = cbind(d, as.data.frame(cf)))
  Vb <- vcov(svytotal(as.formula(paste("~", paste(colnames(cf), collapse = "+"))), db))
  df <- fit$df.residual  # degf + 1 - rank, as svyglm's own t tests
  c(list(formula = deparse(formula), exposure = var, df = df,
         coef_vcov_max_rel_diff = max(abs(unclass(Vb) - vcov(fit)) / abs(vcov(fit)))),
    contrasts_of(s$mu, unclass(V), df))
}
designed <- list(
  crude_posture = design_based(spasm ~ posture_f, "posture_f"),
  adjusted_posture = design_based(spasm ~ posture_f + age + sex_f, "posture_f"),
  adjusted_age = design_based(spasm ~ posture_f + age + sex_f, "age")
)
pm_fit <- svyglm(spasm ~ age + sex_f, design = subset(des, !is.na(age)),
                 family = quasibinomial(), control = ctl)
pm <- svypredmeans(pm_fit, ~posture_f)
lv <- c("Good", "Fair", "Poor")
predmeans <- list(level = lv, estimate = unname(coef(pm)[lv]),
                  se = unname(sqrt(diag(vcov(pm)))[match(lv, names(coef(pm)))]))

# ---- direct models ----------------------------------------------------------------
coefs <- function(fit, V) list(term = names(coef(fit)), estimate = unname(coef(fit)),
                               se = unname(sqrt(diag(V))))
poisson_adj <- glm(spasm ~ posture_f + age + sex_f, family = poisson(), data = cc, control = ctl)
poisson_crude <- glm(spasm ~ posture_f, family = poisson(), data = cc, control = ctl)
svy_poisson <- svyglm(spasm ~ posture_f + age + sex_f, design = subset(des, !is.na(age)),
                      family = quasipoisson(), control = ctl)
sp <- summary(svy_poisson)$coefficients
ci <- confint(svy_poisson)
# The log link's IRLS creeps: a deviance criterion of 1e-12 stops with a score of ~3e-3.
ctl_lb <- glm.control(epsilon = 1e-15, maxit = 5000)
lb_adj <- glm(spasm ~ posture_f + age + sex_f, family = binomial(link = "log"), data = cc,
              start = c(coef(poisson_adj)[1] - 0.5, coef(poisson_adj)[-1]), control = ctl_lb)
lb_crude <- glm(spasm ~ posture_f, family = binomial(link = "log"), data = cc, control = ctl_lb)
direct <- list(
  modified_poisson_adjusted = coefs(poisson_adj, vcovHC(poisson_adj, type = "HC0")),
  modified_poisson_crude = coefs(poisson_crude, vcovHC(poisson_crude, type = "HC0")),
  design_poisson_adjusted = list(term = rownames(sp), estimate = unname(sp[, 1]),
                                 se = unname(sp[, 2]), p_value = unname(sp[, 4]),
                                 ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]),
                                 df_residual = svy_poisson$df.residual),
  log_binomial_adjusted = c(coefs(lb_adj, vcov(lb_adj)), converged = lb_adj$converged,
                            loglik = as.numeric(logLik(lb_adj))),
  log_binomial_crude = c(coefs(lb_crude, vcov(lb_crude)), converged = lb_crude$converged)
)

write_fixture(list(n = nrow(cc), unweighted = unweighted, hand = hand, design = designed,
                   svypredmeans = predmeans, direct = direct),
              "effects", c("survey", "sandwich", "jsonlite"), "tests/reference/R/effects.R",
              notes = paste("Marginal standardisation written out with predict-style design rows;",
                            "design-based variance by svytotal of the linearised values."))
