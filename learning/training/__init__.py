"""Training management: lessons, quizzes, progress, paths, classes, the assignment lifecycle, feedback, achievements, vouchers, purchases."""
