# Multiple imputation: Rubin's rules (mice::pool.scalar, mice::pool) and a
# large-m MICE run with type-appropriate imputation models.
#   Rscript tests/reference/R/mice.R            (from the repository root)
# (a) Rubin's rules on made-up inputs: m = 20 estimates and variances of two
#     coefficients drawn with a fixed seed, pooled by pool.scalar with a finite
#     complete-data df (n - k) and with n = Inf; and pool() of the 50 glm fits
#     of (b), with each fit's estimates and SEs written so the pooling can be
#     checked exactly.
# (b) 800 simulated rows: binary outcome y, ordered factor posture (3 levels),
#     unordered factor sport (3 levels), numeric age; age ~20% missing
#     completely at random, the others ~20% missing at random given age.
#     mice(m = 50) with logreg / polr / polyreg / pmm, then
#     pool(with(imp, glm(y ~ posture + sport + age, binomial))) on the rows
#     whose outcome was observed (multiple imputation, then deletion).
source("tests/reference/R/_common.R")
suppressPackageStartupMessages(library(mice))
# Treatment contrasts for ordered factors too: the imputation models and the
# analysis model then use the same dummy coding as the Python side.
options(contrasts = c("contr.treatment", "contr.treatment"))

# ---- (a) Rubin's rules on made-up inputs -----------------------------------------
set.seed(20261201)
m_a <- 20
q_a <- cbind(rnorm(m_a, 0.40, 0.15), rnorm(m_a, -1.10, 0.05))
u_a <- cbind(0.010 + rchisq(m_a, 10) / 1000, 0.004 + rchisq(m_a, 10) / 4000)
n_a <- 120
k_a <- 4
scalar <- function(j, n, k) {
  p <- pool.scalar(q_a[, j], u_a[, j], n = n, k = k)
  list(qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, df = p$df, riv = p$r, fmi = p$fmi)
}
rubin <- list(
  m = m_a, estimates = unname(split(q_a, row(q_a))), variances = unname(split(u_a, row(u_a))),
  n = n_a, k = k_a,
  finite = lapply(1:2, scalar, n = n_a, k = k_a),
  infinite = lapply(1:2, scalar, n = Inf, k = 1)
)

# ---- (b) large-m MICE ---------------------------------------------------------------
set.seed(1405)
n <- 800
age <- round(rnorm(n, 45, 12))
z <- (age - 45) / 12
posture <- cut(0.6 * z + rlogis(n), c(-Inf, -0.5, 0.8, Inf), labels = FALSE)  # 1..3
eta_b <- -0.3 + 0.5 * z
eta_c <- -0.6 - 0.4 * z
den <- 1 + exp(eta_b) + exp(eta_c)
u <- runif(n)
sport <- ifelse(u < 1 / den, 1L, ifelse(u < (1 + exp(eta_b)) / den, 2L, 3L))
lp <- -0.8 + 0.5 * (posture == 2) + 1.0 * (posture == 3) + 0.6 * (sport == 2) -
  0.5 * (sport == 3) + 0.3 * z
y <- as.integer(runif(n) < plogis(lp))
full <- data.frame(y = y, posture = posture, sport = sport, age = age)

# age MCAR; y, posture and sport MAR given age (only where age was observed)
miss_age <- runif(n) < 0.2
p_mar <- plogis(-1.25 + 0.8 * z)
obs <- full
obs$age[miss_age] <- NA
for (v in c("y", "posture", "sport")) {
  obs[[v]][!miss_age & runif(n) < p_mar] <- NA
}
write_data(obs, "mice")

dat <- data.frame(
  y = factor(obs$y, levels = 0:1),
  # Labels in alphabetical order: mice 3.15's augment() (used by polr) re-sorts an ordered
  # factor's levels alphabetically (amices/mice#713, fixed in PR #714, after 3.15), which
  # would fit the proportional-odds model to Good < Fair < Poor in the order Fair, Good, Poor.
  posture = factor(obs$posture, levels = 1:3, labels = c("Good", "Moderate", "Poor"),
                   ordered = TRUE),
  sport = factor(obs$sport, levels = 1:3, labels = c("None", "Golf", "Swimming")),
  age = obs$age,
  yobs = as.integer(!is.na(obs$y))
)
meth <- make.method(dat)
meth["yobs"] <- ""
pred <- make.predictorMatrix(dat)
pred[, "yobs"] <- 0
m_b <- 50
imp <- mice(dat, m = m_b, method = meth, predictorMatrix = pred, maxit = 5, seed = 77,
            printFlag = FALSE)
fits <- with(imp, glm(y ~ posture + sport + age, family = binomial, subset = yobs == 1))
pooled <- summary(pool(fits))
pool_table <- pool(fits)$pooled
per_fit <- lapply(fits$analyses, function(f) {
  s <- summary(f)$coefficients
  list(estimate = unname(s[, 1]), se = unname(s[, 2]))
})
terms <- as.character(pool_table$term)
large_m <- list(
  n = n, m = m_b, maxit = 5, seed = 77,
  method = as.list(imp$method[imp$method != ""]),
  n_analysed = sum(dat$yobs),
  missing = as.list(colSums(is.na(obs))),
  terms = terms,
  estimate = pool_table$estimate, se = sqrt(pool_table$t),
  odds_ratio = exp(pool_table$estimate),
  ubar = pool_table$ubar, b = pool_table$b, t = pool_table$t,
  dfcom = pool_table$dfcom, df = pool_table$df, riv = pool_table$riv,
  lambda = pool_table$lambda, fmi = pool_table$fmi,
  # what was imputed, over all m data sets: level shares of the factors, mean age
  imputed = list(
    y = mean(unlist(lapply(imp$imp$y, function(v) as.integer(as.character(v))))),
    posture = as.list(prop.table(table(factor(unlist(lapply(imp$imp$posture, as.character)),
                                              levels = levels(dat$posture))))),
    sport = as.list(prop.table(table(factor(unlist(lapply(imp$imp$sport, as.character)),
                                            levels = levels(dat$sport))))),
    age = mean(unlist(imp$imp$age))
  ),
  per_fit_estimate = lapply(per_fit, `[[`, "estimate"),
  per_fit_se = lapply(per_fit, `[[`, "se"),
  complete_data = {
    f <- glm(y ~ factor(posture) + factor(sport) + age, family = binomial, data = full)
    list(estimate = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))))
  }
)

write_fixture(list(rubin = rubin, large_m = large_m), "mice",
              packages = c("mice", "jsonlite"), script = "tests/reference/R/mice.R",
              notes = paste(
                "(a) pool.scalar on made-up draws (finite df: n - k; infinite: n = Inf).",
                "(b) mice 3.15 defaults by type (logreg, polr, polyreg, pmm), maxit 5,",
                "treatment contrasts; pooled glm on rows with an observed outcome.",
                "complete_data: the same glm on the data before values were deleted."))
