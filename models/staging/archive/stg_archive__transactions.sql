{{ stage_transactions("archive") }}
