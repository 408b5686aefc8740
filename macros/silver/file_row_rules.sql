{#- The rules a landing-file row must pass, per file type: {reason: failing condition}.
    Defined once, used by the silver model (which drops failing rows) and by the
    quarantine (which keeps them with the reason). -#}
{% macro file_row_rules(entity) -%}
    {%- set shared = {"malformed record": "parse_error is not null"} -%}
    {%- set rules = {
        "fiscal_calendar": {
            "date missing or invalid": "calendar_date is null",
            "fiscal year or quarter missing": "fiscal_year is null or fiscal_quarter is null",
        },
        "surveys": {
            "response_id missing": "response_id is null",
            "submitted_at missing or invalid": "submitted_at is null",
            "nps_score not in 0..10":
                "nps_score is null or nps_score < 0 or nps_score > 10",
            "satisfaction not in 1..5":
                "satisfaction is not null and (satisfaction < 1 or satisfaction > 5)",
        },
        "expenses": {
            "expense_id missing": "expense_id is null",
            "amount missing or invalid": "amount is null",
            "expense_date missing or invalid": "expense_date is null",
        },
    } -%}
    {%- set combined = {} -%}
    {%- do combined.update(shared) -%}
    {%- do combined.update(rules[entity]) -%}
    {{ return(combined) }}
{%- endmacro %}
