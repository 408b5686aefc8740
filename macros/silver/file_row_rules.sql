{#- The rules a landing-file row must pass, per file type: {reason: failing condition}.
    Defined once, used by the silver model (which drops failing rows) and by the
    quarantine (which keeps them with the reason). -#}
{% macro file_row_rules(entity) -%}
    {%- set shared = {"malformed record": "parse_error is not null"} -%}
    {#- a date past var `max_valid_date` is a typo or a sentinel (9999-12-31), not data:
        kept, it would stretch dim_date's day spine past its limit -#}
    {%- set horizon = "cast('" ~ var("max_valid_date") ~ "' as date)" -%}
    {%- set rules = {
        "fiscal_calendar": {
            "date missing or invalid": "calendar_date is null",
            "fiscal year or quarter missing": "fiscal_year is null or fiscal_quarter is null",
        },
        "surveys": {
            "response_id missing": "response_id is null",
            "submitted_at missing or invalid": "submitted_at is null",
            "submitted_at after max_valid_date":
                "cast(submitted_at as date) > " ~ horizon,
            "nps_score not in 0..10":
                "nps_score is null or nps_score < 0 or nps_score > 10",
            "satisfaction not in 1..5":
                "satisfaction is not null and (satisfaction < 1 or satisfaction > 5)",
        },
        "expenses": {
            "expense_id missing": "expense_id is null",
            "amount missing or invalid": "amount is null",
            "expense_date missing or invalid": "expense_date is null",
            "expense_date after max_valid_date": "expense_date > " ~ horizon,
        },
    } -%}
    {%- set combined = {} -%}
    {%- do combined.update(shared) -%}
    {%- do combined.update(rules[entity]) -%}
    {{ return(combined) }}
{%- endmacro %}
