{#- The body of a surrogate-key model for the versions of an SCD2 snapshot: one key per
    (`key_column`, `dbt_valid_from`), numbered in that order when the table is first
    built, and kept by every build after it, which numbers only the versions it has not
    seen, after the highest key so far. So a key never moves once given, and a fact that is only
    partly rewritten can keep the keys of the rows it leaves (`fct_transactions`). A
    snapshot version's `dbt_valid_from` never changes (the timestamp strategy takes it
    from the row's `updated_at`); closing a version changes only its `dbt_valid_to`. -#}
{% macro version_keys(snapshot_relation, key_column, surrogate_key) -%}
with

versions as (
    select
        {{ key_column }},
        dbt_valid_from
    from {{ snapshot_relation }}
),

{% if is_incremental() -%}
unseen as (
    select versions.*
    from versions
    left join {{ this }} as seen
        on
            versions.{{ key_column }} = seen.{{ key_column }}
            and versions.dbt_valid_from = seen.dbt_valid_from
    where seen.{{ key_column }} is null
),

last_key as (
    select coalesce(max({{ surrogate_key }}), 0) as highest from {{ this }}
),
{%- else -%}
unseen as (
    select * from versions
),

last_key as (
    select 0 as highest
),
{%- endif %}

keyed as (
    select
        unseen.{{ key_column }},
        unseen.dbt_valid_from,
        last_key.highest + row_number() over (
            order by unseen.{{ key_column }}, unseen.dbt_valid_from
        ) as {{ surrogate_key }}
    from unseen
    cross join last_key
)

select * from keyed
{%- endmacro %}
