# Additive interaction (RERI, AP, S) with delta-method intervals (Hosmer & Lemeshow 1992),
# written out here from glm's coefficients and vcov, as the Python code must reproduce.
source(file.path("tests", "reference", "R", "_common.R"))

measures <- function(fit, a, b, ab) {
  beta <- coef(fit)[c(a, b, ab)]
  V <- vcov(fit)[c(a, b, ab), c(a, b, ab)]
  or10 <- exp(beta[1]); or01 <- exp(beta[2]); or11 <- exp(sum(beta))
  reri <- or11 - or10 - or01 + 1
  ap <- reri / or11
  d <- or10 + or01 - 2
  s <- (or11 - 1) / d
  g_reri <- c(or11 - or10, or11 - or01, or11)
  g_ap <- c(or01 - 1, or10 - 1, or10 + or01 - 1) / or11
  g_s <- c(or11 / (or11 - 1) - or10 / d, or11 / (or11 - 1) - or01 / d, or11 / (or11 - 1))
  se <- function(g) sqrt(drop(t(g) %*% V %*% g))
  z <- qnorm(0.975)
  list(measure = c("RERI", "AP", "S"),
       estimate = unname(c(reri, ap, s)),
       ci_low = unname(c(reri - z * se(g_reri), ap - z * se(g_ap), s * exp(-z * se(g_s)))),
       ci_high = unname(c(reri + z * se(g_reri), ap + z * se(g_ap), s * exp(z * se(g_s)))))
}

# Hosmer & Lemeshow's (1992) example: oral cancer by smoking (a) and alcohol (b) in male
# veterans under 60 (cell counts as in Nie et al. 2010, eAppendix).
hl <- data.frame(a = c(1, 1, 1, 1, 0, 0, 0, 0), b = c(1, 1, 0, 0, 1, 1, 0, 0),
                 y = c(1, 0, 1, 0, 1, 0, 1, 0), f = c(225, 166, 6, 12, 8, 18, 3, 20))
fit_hl <- glm(y ~ a * b, family = binomial, data = hl, weights = f,
              control = glm.control(epsilon = 1e-14, maxit = 100))

# Simulated survey: two binary exposures with a confounder and a 3-level factor.
set.seed(17)
n <- 3000
c1 <- rnorm(n)
lifting <- rbinom(n, 1, plogis(-0.5 + 0.6 * c1))
posture <- sample(1:3, n, replace = TRUE, prob = c(0.4, 0.35, 0.25))
p <- plogis(-1.8 + 0.5 * lifting + 0.3 * (posture == 2) + 0.7 * (posture == 3)
            + 0.4 * lifting * (posture == 3) + 0.3 * c1)
spasm <- rbinom(n, 1, p)
frame <- data.frame(lifting = lifting, posture = posture, c1 = round(c1, 6), spasm = spasm)
write_data(frame, "additive")
frame$posture <- factor(frame$posture)
fit_sim <- glm(spasm ~ lifting * posture + c1, family = binomial, data = frame,
               control = glm.control(epsilon = 1e-14, maxit = 100))

write_fixture(list(
  hosmer_lemeshow = measures(fit_hl, "a", "b", "a:b"),
  simulated_fair = measures(fit_sim, "lifting", "posture2", "lifting:posture2"),
  simulated_poor = measures(fit_sim, "lifting", "posture3", "lifting:posture3")
), "additive", c("stats", "jsonlite"), "tests/reference/R/additive.R",
notes = "glm(binomial) coefficients and vcov; delta method written out in the script")
