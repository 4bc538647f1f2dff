"""Skills evidence: evidence files and their review, assessments and moderation, review tasks, credentials and onboarding, exports."""
