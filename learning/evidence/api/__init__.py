"""The skills-evidence API: evidence, review tasks, assessments and moderation, credentials and onboarding, exports."""
