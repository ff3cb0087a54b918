# Design-based estimation with R's survey package: the reference for
# analysis.design_based, prevalence(design=True) and logistic(design=True).
#
# Simulated stratified cluster sample: 5 strata with 2-4 PSUs each (14 PSUs,
# 9 design df, so t and z differ visibly), PSUs numbered 1..n_h *within* each
# stratum (nest = TRUE), unequal weights, a binary outcome `spasm`, a factor
# `posture` whose level "Poor" is absent from some PSUs (its domain has fewer
# design df), a numeric `age` missing on some rows (svyglm drops them; the
# design of the complete cases keeps its PSU structure).
#
# Written: svyglm(quasibinomial) coefficients, SEs, degf, df.residual, the
# summary's t p-values (on df.residual), confint() default (ddf = df.residual)
# and confint(ddf = degf); svyciprop overall and within posture levels
# (svyby, i.e. on the subset design, whose df is degf(subset)), methods
# "logit" (the default) and "beta"; svymean and svytotal of age and of the
# posture level indicators, overall and by posture (SEs; t intervals on the
# df given); and what happens with a single PSU in a stratum under the
# default options(survey.lonely.psu = "fail").
source("tests/reference/R/_common.R")
suppressPackageStartupMessages(library(survey))

set.seed(20261201)
psus_per_stratum <- c(2, 3, 2, 4, 3)
rows <- list()
for (h in seq_along(psus_per_stratum)) {
  for (j in seq_len(psus_per_stratum[h])) {
    m <- sample(70:100, 1)
    effect <- rnorm(1, 0, 0.6)  # PSU members share something: clustering matters
    # "Poor" posture is absent from the first PSU of strata 1 and 3.
    probs <- if (j == 1 && h %in% c(1, 3)) c(0.6, 0.4, 0) else c(0.45, 0.35, 0.2)
    posture <- sample(1:3, m, replace = TRUE, prob = probs)
    age <- round(runif(m, 20, 70))
    sex <- sample(1:2, m, replace = TRUE, prob = c(0.55, 0.45))
    lp <- -1.2 + 0.4 * (posture == 2) + 0.9 * (posture == 3) + 0.03 * (age - 45) + effect
    rows[[length(rows) + 1]] <- data.frame(
      stratum = h, psu = j,
      w = round(runif(m, 0.5, 3) * c(1, 2.5, 1.5, 4, 2)[h], 4),
      posture = posture, sex = sex, age = age,
      spasm = as.integer(runif(m) < plogis(lp)))
  }
}
d <- do.call(rbind, rows)
d$age[sample(nrow(d), 25)] <- NA
write_data(d, "design")

d$posture_f <- factor(d$posture, levels = 1:3, labels = c("Good", "Fair", "Poor"))
d$sex_f <- factor(d$sex, levels = 1:2, labels = c("Female", "Male"))
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
level_names <- levels(d$posture_f)

# ---- svyglm -----------------------------------------------------------------
glm_block <- function(formula, design = des) {
  # glm.control(epsilon = 1e-12): glm's bread and working weights lag one IRLS
  # iteration; at the default 1e-8 that moves the sandwich SEs by ~5e-7 relative.
  fit <- svyglm(formula, design = design, family = quasibinomial(),
                control = glm.control(epsilon = 1e-12, maxit = 100))
  s <- summary(fit)$coefficients
  ci_default <- confint(fit)
  ci_degf <- confint(fit, ddf = degf(fit$survey.design))
  list(term = rownames(s), estimate = unname(s[, 1]), se = unname(s[, 2]),
       t = unname(s[, 3]), p_value = unname(s[, 4]),
       ci_low = unname(ci_default[, 1]), ci_high = unname(ci_default[, 2]),
       ci_low_degf = unname(ci_degf[, 1]), ci_high_degf = unname(ci_degf[, 2]),
       degf = degf(fit$survey.design), df_residual = fit$df.residual,
       p_value_degf = unname(2 * pt(-abs(s[, 3]), degf(fit$survey.design))),
       n = nrow(fit$model))
}
models <- list(
  adjusted = glm_block(spasm ~ posture_f + age),
  # The crude model on the adjusted model's complete cases (what logistic() fits) ...
  crude_posture_cc = glm_block(spasm ~ posture_f, subset(des, !is.na(age))),
  # ... and on every row (logistic() without confounders).
  crude_posture = glm_block(spasm ~ posture_f)
)

# ---- svyciprop ------------------------------------------------------------------
ciprop <- function(design, method) {
  r <- svyciprop(~spasm, design, method = method)
  ci <- attr(r, "ci")
  list(estimate = unname(coef(r)), se = unname(sqrt(attr(r, "var")[1, 1])),
       ci_low = unname(ci[1]), ci_high = unname(ci[2]), df = degf(design),
       n = nrow(design))
}
prevalence <- list()
for (method in c("logit", "beta")) {
  overall <- ciprop(des, method)
  by_level <- lapply(level_names, function(l) ciprop(subset(des, posture_f == l), method))
  prevalence[[method]] <- list(
    level = c("Overall", level_names),
    estimate = c(overall$estimate, sapply(by_level, `[[`, "estimate")),
    se = c(overall$se, sapply(by_level, `[[`, "se")),
    ci_low = c(overall$ci_low, sapply(by_level, `[[`, "ci_low")),
    ci_high = c(overall$ci_high, sapply(by_level, `[[`, "ci_high")),
    df = c(overall$df, sapply(by_level, `[[`, "df")),
    n = c(overall$n, sapply(by_level, `[[`, "n")))
}
# The same through svyby (what a user types): equal to the subsets above.
by_svyby <- svyby(~spasm, ~posture_f, des, svyciprop, vartype = c("se", "ci"))
prevalence$svyby_logit <- list(level = as.character(by_svyby$posture_f),
                               estimate = unname(by_svyby$spasm), se = unname(by_svyby$se),
                               ci_low = unname(by_svyby$ci_l), ci_high = unname(by_svyby$ci_u))

# ---- svymean / svytotal (Table 1) ---------------------------------------------
stat_block <- function(fun, formula, design, df) {
  est <- fun(formula, design, na.rm = TRUE)
  ci <- confint(est, df = df)
  list(term = names(coef(est)), estimate = unname(coef(est)), se = as.numeric(SE(est)),
       ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]), df = df)
}
# Table 1 by sex: age and the posture levels, overall and within each sex.
table_one <- list()
groups <- c("Overall", levels(d$sex_f))
for (g in groups) {
  sub <- if (g == "Overall") des else subset(des, sex_f == g)
  df <- degf(subset(sub, !is.na(age)))
  table_one[[g]] <- list(
    age_mean = stat_block(svymean, ~age, sub, df),
    age_total = stat_block(svytotal, ~age, sub, df),
    posture_mean = stat_block(svymean, ~posture_f, sub, degf(sub)),
    posture_total = stat_block(svytotal, ~posture_f, sub, degf(sub)),
    # Table 1's percent intervals: svyciprop (logit) of each level's indicator.
    posture_ciprop = lapply(setNames(level_names, level_names), function(l) {
      r <- svyciprop(bquote(~I(posture_f == .(l))), sub)
      unname(as.numeric(attr(r, "ci")))
    }),
    n_age = sum(!is.na(sub$variables$age)), n = nrow(sub))
}
# Mean age within posture levels: svyby gives the same estimates and SEs as the
# subsets; its intervals take the df the user passes (here the whole design's,
# Stata's convention, our df = "design"; the subset's degf is our default).
age_by <- svyby(~age, ~posture_f, des, svymean, na.rm = TRUE)
table_one$age_by_posture <- list(
  level = level_names, estimate = unname(coef(age_by)), se = unname(SE(age_by)),
  ci_low_full_df = unname(confint(age_by, df = degf(des))[, 1]),
  ci_high_full_df = unname(confint(age_by, df = degf(des))[, 2]),
  df_subset = sapply(level_names, function(l)
    degf(subset(des, posture_f == l & !is.na(age)))) |> unname(),
  degf_full = degf(des))

# ---- a stratum with a single PSU ----------------------------------------------
lonely <- d
lonely$psu[lonely$stratum == 1] <- 1
des_lonely <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = lonely, nest = TRUE)
lonely_fail <- tryCatch({svymean(~age, des_lonely, na.rm = TRUE); "no error"},
                        error = function(e) conditionMessage(e))

write_fixture(
  list(n = nrow(d), n_psu = sum(psus_per_stratum), n_strata = length(psus_per_stratum),
       degf = degf(des), models = models, prevalence = prevalence, table_one = table_one,
       lonely_psu = list(option = getOption("survey.lonely.psu"), error = lonely_fail)),
  "design", c("survey", "jsonlite"), "tests/reference/R/design.R",
  notes = paste(
    "svydesign(ids=~psu, strata=~stratum, weights=~w, nest=TRUE), PSUs with replacement, no fpc.",
    "svyglm p-values and the default confint use t on df.residual = degf + 1 - rank;",
    "ci_*_degf use ddf = degf. Domains (posture levels) are subset designs: their df is",
    "degf(subset) = PSUs with members in the domain minus strata with such PSUs.",
    "svyciprop default method is logit: expit of the Wald interval of svyglm(y ~ 1) on",
    "the logit scale with t on degf."))
