# Reference for analysis.models.ordinal / multinomial and Brant's test.
#   Rscript tests/reference/R/ordinal.R   (from the repository root)
# Writes tests/reference/data/ordinal.csv, tests/reference/data/ordinal_sparse.csv and
# tests/reference/fixtures/ordinal.json.
#
# * Proportional odds: MASS::polr(Hess = TRUE) and ordinal::clm. Both use
#   logit P(Y <= j) = zeta_j - eta, eta = x'b: a positive b means higher categories,
#   exp(b) the odds ratio of being above any cut.
# * Brant (1990) test, by hand (the brant package is not in Debian): a binary logit
#   for each cut (Y > j), their joint covariance
#     Var(b_j) = (X'W_j X)^-1, Cov(b_j, b_l) = (X'W_j X)^-1 X' diag(pi_l - pi_j pi_l) X
#     (X'W_l X)^-1  for j < l (pi_j the fitted P(Y > j)),
#   and the Wald statistic of b_1 = b_j (slopes only), overall and per model term.
# * Multinomial: nnet::multinom(Hess = TRUE), SEs from the inverse Hessian.
source("tests/reference/R/_common.R")
suppressPackageStartupMessages({
  library(MASS)
  library(ordinal)
  library(nnet)
  library(sandwich)
})
# _common.R's coef_table() default `names = names(estimate)` refers to itself (R: "promise
# already under evaluation"), so the names are always passed here.
ctab <- function(estimate, se, names = NULL) {
  coef_table(estimate, se, if (is.null(names)) base::names(estimate) else names)
}

set.seed(20261201)
n <- 1500
group <- factor(sample(c("Low", "Middle", "High"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25)),
                levels = c("Low", "Middle", "High"))
smoker <- factor(sample(c("No", "Yes"), n, replace = TRUE, prob = c(0.7, 0.3)),
                 levels = c("No", "Yes"))
age <- round(runif(n, 20, 70))
eta <- 0.5 * (group == "Middle") + 1.0 * (group == "High") + 0.6 * (smoker == "Yes") +
  0.03 * (age - 45)
zeta <- c(-0.8, 0.6, 1.9)
u <- rlogis(n)
pain_code <- 1 + (u < eta - zeta[1]) + (u < eta - zeta[2]) + (u < eta - zeta[3])
# Not "None": pandas reads that string as missing (tests/reference/fixtures.py keeps the
# default NA strings).
bands <- c("Absent", "Mild", "Moderate", "Severe")
pain <- factor(bands[pain_code], levels = bands, ordered = TRUE)

# A nominal outcome with 3 categories (baseline "Neck"), from a baseline-category logit.
sites <- c("Neck", "Lower back", "Upper back")
lp2 <- -0.3 + 0.4 * (group == "Middle") + 0.9 * (group == "High") - 0.5 * (smoker == "Yes") +
  0.02 * (age - 45)
lp3 <- -0.9 + 0.2 * (group == "Middle") - 0.4 * (group == "High") + 0.7 * (smoker == "Yes") -
  0.01 * (age - 45)
den <- 1 + exp(lp2) + exp(lp3)
p <- cbind(1 / den, exp(lp2) / den, exp(lp3) / den)
site_code <- apply(p, 1, function(pr) sample(3, 1, prob = pr))
site <- factor(sites[site_code], levels = sites)

frame <- data.frame(group = group, smoker = smoker, age = age, pain = pain, site = site)
write_data(frame, "ordinal")

# ---- proportional odds ---------------------------------------------------------
po <- polr(pain ~ group + smoker + age, data = frame, Hess = TRUE, method = "logistic",
           control = list(reltol = 1e-14, maxit = 10000))
po_se <- sqrt(diag(vcov(po)))
cm <- clm(pain ~ group + smoker + age, data = frame, link = "logit",
          control = clm.control(gradTol = 1e-10, relTol = 1e-12))
cm_se <- sqrt(diag(vcov(cm)))
# HC0 sandwich of the clm fit (sandwich's estfun/bread methods for clm).
cm_hc0 <- sqrt(diag(sandwich(cm)))
crude_po <- lapply(c("group", "smoker", "age"), function(v) {
  f <- clm(as.formula(paste("pain ~", v)), data = frame, link = "logit",
           control = clm.control(gradTol = 1e-10, relTol = 1e-12))
  list(variable = v, coefficients = ctab(coef(f), sqrt(diag(vcov(f)))),
       loglik = as.numeric(logLik(f)), aic = AIC(f))
})

polr_part <- list(
  beta = ctab(coef(po), po_se[names(coef(po))]),
  zeta = ctab(po$zeta, po_se[names(po$zeta)]),
  loglik = as.numeric(logLik(po)), aic = AIC(po), df = attr(logLik(po), "df"),
  nobs = nobs(po), converged = po$convergence == 0
)
clm_part <- list(
  beta = ctab(cm$beta, cm_se[names(cm$beta)]),
  theta = ctab(cm$alpha, cm_se[names(cm$alpha)]),
  loglik = as.numeric(logLik(cm)), aic = AIC(cm), df = attr(logLik(cm), "df"),
  max_gradient = max(abs(cm$gradient)), crude = crude_po,
  hc0 = list(beta = ctab(cm$beta, cm_hc0[names(cm$beta)]),
             theta = ctab(cm$alpha, cm_hc0[names(cm$alpha)]))
)

# ---- Brant's test, by hand -------------------------------------------------------
brant <- function(formula, data, outcome) {
  X <- model.matrix(formula, data)
  assign <- attr(X, "assign")
  labels <- attr(terms(formula), "term.labels")
  y <- as.integer(data[[outcome]])
  cuts <- max(y) - 1
  k <- ncol(X)
  betas <- list(); probs <- list(); infos <- list()
  for (j in seq_len(cuts)) {
    z <- as.numeric(y > j)
    f <- glm.fit(X, z, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
    betas[[j]] <- f$coefficients
    probs[[j]] <- f$fitted.values
    infos[[j]] <- solve(crossprod(X, X * (probs[[j]] * (1 - probs[[j]]))))
  }
  V <- matrix(0, k * cuts, k * cuts)
  for (j in seq_len(cuts)) for (l in j:cuts) {
    block <- if (l == j) infos[[j]] else {
      w <- probs[[l]] - probs[[j]] * probs[[l]]
      infos[[j]] %*% crossprod(X, X * w) %*% infos[[l]]
    }
    V[(j - 1) * k + 1:k, (l - 1) * k + 1:k] <- block
    V[(l - 1) * k + 1:k, (j - 1) * k + 1:k] <- t(block)
  }
  beta <- unlist(betas)
  wald <- function(cols) {
    D <- do.call(rbind, lapply(2:cuts, function(j) t(sapply(cols, function(c) {
      r <- numeric(k * cuts); r[c] <- 1; r[(j - 1) * k + c] <- -1; r
    }))))
    d <- D %*% beta
    stat <- as.numeric(t(d) %*% solve(D %*% V %*% t(D), d))
    df <- nrow(D)
    list(statistic = stat, df = df, p_value = pchisq(stat, df, lower.tail = FALSE))
  }
  out <- list(overall = wald(which(assign > 0)))
  for (i in seq_along(labels)) out[[labels[i]]] <- wald(which(assign == i))
  out$binary_logits <- lapply(seq_len(cuts), function(j) ctab(betas[[j]],
                                                                     sqrt(diag(infos[[j]]))))
  out
}
brant_part <- brant(~ group + smoker + age, frame, "pain")

# ---- multinomial -----------------------------------------------------------------
mn <- multinom(site ~ group + smoker + age, data = frame, Hess = TRUE, trace = FALSE,
               maxit = 10000, reltol = 1e-14, abstol = 1e-300)
mn_coef <- coef(mn)
mn_se <- sqrt(diag(solve(mn$Hessian)))
mn_levels <- rownames(mn_coef)
mn_part <- list(
  reference = sites[1],
  levels = lapply(mn_levels, function(lv) {
    idx <- paste0(lv, ":", colnames(mn_coef))
    c(list(level = lv), ctab(mn_coef[lv, ], mn_se[idx], colnames(mn_coef)))
  }),
  loglik = as.numeric(logLik(mn)), aic = AIC(mn), df = mn$edf, deviance = deviance(mn),
  converged = mn$convergence == 0
)

# ---- a sparse data set: Brant is not estimable, the PO fit is -------------------
# 80 rows; the "High" group (6 respondents) has nobody in the lowest band, so the
# binary logit of the first cut (Y > "Absent") is separated: its MLE is +infinity,
# the fitted P(Y > "Absent") of the group reaches 1 and Brant's covariance is singular
# (the audit's raw LinAlgError). polr still fits.
set.seed(7)
m <- 80
sg <- factor(c(rep("High", 6), sample(c("Low", "Middle"), m - 6, replace = TRUE)),
             levels = c("Low", "Middle", "High"))
sa <- round(runif(m, 20, 70))
su <- rlogis(m)
seta <- 0.5 * (sg == "Middle") + 0.02 * (sa - 45)
scode <- 1 + (su < seta + 0.8) + (su < seta - 0.6) + (su < seta - 1.9)
scode[sg == "High"] <- c(2, 2, 3, 3, 4, 4)
sparse <- data.frame(group = sg, age = sa,
                     pain = factor(bands[scode], levels = bands, ordered = TRUE))
write_data(sparse, "ordinal_sparse")
sp <- polr(pain ~ group + age, data = sparse, Hess = TRUE,
           control = list(reltol = 1e-14, maxit = 10000))
sp_se <- sqrt(diag(vcov(sp)))
first <- suppressWarnings(glm(I(as.integer(pain) > 1) ~ group + age, binomial, data = sparse))
sparse_part <- list(
  beta = ctab(coef(sp), sp_se[names(coef(sp))]),
  zeta = ctab(sp$zeta, sp_se[names(sp$zeta)]),
  loglik = as.numeric(logLik(sp)), aic = AIC(sp),
  lowest_band_by_group = as.list(table(sparse$group[sparse$pain == bands[1]])),
  first_cut_glm_high = unname(coef(first)["groupHigh"])
)

write_fixture(
  list(polr = polr_part, clm = clm_part, brant = brant_part, multinom = mn_part,
       sparse = sparse_part),
  "ordinal", c("MASS", "ordinal", "nnet", "sandwich", "jsonlite"), "tests/reference/R/ordinal.R",
  notes = paste(
    "polr and clm: logit P(Y <= j) = zeta_j - x'b; exp(b) is the OR of a higher category.",
    "Brant: separate glm binary logits per cut, Brant (1990) covariance, Wald test of",
    "equal slopes (intercepts excluded), overall and per term.",
    "clm hc0: sandwich::sandwich(clm), HC0 without small-sample factor.",
    "multinom: SEs from solve(Hessian); AIC = deviance + 2 edf."))
