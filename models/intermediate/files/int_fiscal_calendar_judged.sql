{{ judge_file_rows(
    "fiscal_calendar", ref("stg_files__fiscal_calendar"), "calendar_date"
) }}
