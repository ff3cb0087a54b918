# Shared by every reference script: where fixtures go and how they are written.
# Each script is run from the repository root by `make fixtures`:
#   Rscript tests/reference/R/<family>.R
# and writes tests/reference/fixtures/<family>.json (and, when it simulates its
# own data, tests/reference/data/<family>.csv). The JSON records the R version
# and the version of every package the script used, so a fixture says what
# produced it.
suppressPackageStartupMessages(library(jsonlite))

fixture_path <- function(name) file.path("tests", "reference", "fixtures", paste0(name, ".json"))
data_path <- function(name) file.path("tests", "reference", "data", paste0(name, ".csv"))

write_data <- function(frame, name) {
  write.csv(frame, data_path(name), row.names = FALSE, na = "")
}

write_fixture <- function(results, name, packages, script, notes = NULL) {
  meta <- list(
    script = script,
    r_version = paste(R.version$major, R.version$minor, sep = "."),
    packages = setNames(lapply(packages, function(p) as.character(packageVersion(p))), packages),
    notes = notes
  )
  out <- list(meta = meta, results = results)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null",
                    na = "null"), fixture_path(name))
}

# Coefficient table of a fitted model as a named list of columns.
coef_table <- function(estimate, se, terms = names(estimate)) {
  list(term = unname(terms), estimate = unname(estimate), se = unname(se))
}
