{#- Gold rules 1, 2 and 6 (nothing disappears silently): every row of
    int_transactions_unioned is either the surviving row in
    int_transactions_deduplicated (same transaction_id and source database), or a
    duplicate whose transaction_id, or whose (order_number, order_line_number), has a
    surviving row. Returns each source row that is neither. An incremental build checks
    the rows of the ids it ranked again (a row's fate depends on its id's survivor and
    on its business key's, and a key ranked again has every one of its ids rewritten). -#}
{%- set ranked = ref("int_transactions_ranked") %}
with

unioned as (
    select * from {{ ref("int_transactions_unioned") }}
    {%- if medallion.changed_since() %}
        where transaction_id in (
            select transaction_id from {{ ranked }}
            where {{ medallion.written_by_this_build("rewritten_since") }}
        )
    {%- endif %}
),

survivors as (
    select * from {{ ref("int_transactions_deduplicated") }}
    {%- if medallion.changed_since() %}
        -- the survivors those rows can be accounted to: of their ids or their orders
        where
            transaction_id in (select transaction_id from unioned)
            or order_number in (select order_number from unioned)
    {%- endif %}
),

accounted as (
    select
        unioned.transaction_id,
        unioned.source_system,
        unioned.order_number,
        unioned.order_line_number,
        case
            when exists (
                select 1 from survivors
                where
                    survivors.transaction_id = unioned.transaction_id
                    and survivors.source_system = unioned.source_system
            ) then 'survivor'
            when exists (
                select 1 from survivors
                where survivors.transaction_id = unioned.transaction_id
            ) then 'duplicate of the same id'
            when exists (
                select 1 from survivors
                where
                    survivors.order_number = unioned.order_number
                    and survivors.order_line_number = unioned.order_line_number
            ) then 'duplicate of the same business key'
        end as fate
    from unioned
)

select * from accounted
where fate is null
