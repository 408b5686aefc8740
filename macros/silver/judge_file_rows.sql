{#- Every row of a staged landing-file table with its verdict:
    `rejection_reason` (the first rule of `file_row_rules(entity)` it breaks, or null)
    and `file_rank` (1 for the row that wins its key: the newest file, by modification
    time, then file name, then row; gold rule 4). Accepted rows have a rank. -#}
{% macro judge_file_rows(entity, relation, key) -%}
with

staged as (
    select * from {{ relation }}
),

judged as (
    select
        staged.*,
        case
            {%- for reason, condition in file_row_rules(entity).items() %}
            when {{ condition }} then '{{ reason }}'
            {%- endfor %}
        end as rejection_reason
    from staged
),

ranked as (
    select
        judged.*,
        case
            when rejection_reason is null
                then {{ dedup_row_number(
                    [key, "case when rejection_reason is null then 1 end"],
                    ["file_modified_at desc", "file_name desc", "file_row_number desc"]
                ) }}
        end as file_rank
    from judged
)

select * from ranked
{%- endmacro %}
