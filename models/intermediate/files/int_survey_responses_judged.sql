{{ judge_file_rows("surveys", ref("stg_files__surveys"), "response_id") }}
