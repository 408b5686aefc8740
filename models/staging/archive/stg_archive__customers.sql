{{ stage_customers("archive") }}
