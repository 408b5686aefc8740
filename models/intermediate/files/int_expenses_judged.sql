{{ judge_file_rows("expenses", ref("stg_files__expenses"), "expense_id") }}
