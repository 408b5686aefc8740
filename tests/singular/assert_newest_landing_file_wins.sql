{#- Gold rule 4: a landing-file row that arrives twice (the same file landed twice, or
    the same key in two files) is one row, and the newest file wins (by landing time,
    then file name, then the later record). For each file type, returns each kept row
    (file_rank = 1) that an accepted row of the same key in a newer file beats, and
    each accepted key without exactly one kept row. -#}
{%- set judged = [
    (
        "fiscal_calendar",
        "int_fiscal_calendar_judged",
        "calendar_date",
    ),
    ("surveys", "int_survey_responses_judged", "response_id"),
    ("expenses", "int_expenses_judged", "expense_id"),
] -%}
with

{% for file_type, model_name, key in judged -%}
    {{ file_type }}_rows as (
        select
            '{{ file_type }}' as file_type,
            -- a bounded string: MySQL's `text` ids can be neither hashed nor indexed,
            -- and the self-join below compared every pair of a file type's rows
            cast({{ key }} as char(255)) as record_key,
            file_name,
            file_row_number,
            file_modified_at,
            file_rank
        from {{ ref(model_name) }}
        where rejection_reason is null
    ),

{% endfor -%}
accepted as (
    {%- for file_type, model_name, key in judged %}
        select * from {{ file_type }}_rows
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

kept as (
    select * from accepted
    where file_rank = 1
),

beaten as (
    select
        kept.file_type,
        kept.record_key,
        kept.file_name,
        'a newer file holds the key' as failure
    from kept
    inner join accepted as rival
        on
            kept.file_type = rival.file_type
            and kept.record_key = rival.record_key
    where
        rival.file_modified_at > kept.file_modified_at
        or (
            rival.file_modified_at = kept.file_modified_at
            and rival.file_name > kept.file_name
        )
        or (
            rival.file_modified_at = kept.file_modified_at
            and rival.file_name = kept.file_name
            and rival.file_row_number > kept.file_row_number
        )
),

not_kept_once as (
    select
        file_type,
        record_key,
        cast(null as {{ medallion.string_type() }}) as file_name,
        'not exactly one kept row' as failure
    from accepted
    group by 1, 2
    having sum(case when file_rank = 1 then 1 else 0 end) <> 1
)

select * from beaten
union all
select * from not_kept_once
