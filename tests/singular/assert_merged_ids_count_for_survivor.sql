{#- Gold rule 3: every transaction of a merged id counts for the survivor, so
    customer_id in every fact and mart is the survivor's id. Returns each row of
    fct_transactions, fct_refunds, customer_segments or top_customers whose
    customer_id is an id merged away in int_customer_id_map. -#}
with

merged_away as (
    select
        customer_id,
        survivor_customer_id
    from {{ ref("int_customer_id_map") }}
    where customer_id <> survivor_customer_id
),

customer_ids as (
    select
        'fct_transactions' as model_name,
        customer_id
    from {{ ref("fct_transactions") }}
    union all
    select
        'fct_refunds' as model_name,
        customer_id
    from {{ ref("fct_refunds") }}
    union all
    select
        'customer_segments' as model_name,
        customer_id
    from {{ ref("customer_segments") }}
    union all
    select
        'top_customers' as model_name,
        customer_id
    from {{ ref("top_customers") }}
)

select
    customer_ids.model_name,
    customer_ids.customer_id,
    merged_away.survivor_customer_id,
    count(*) as offending_rows
from customer_ids
inner join merged_away
    on customer_ids.customer_id = merged_away.customer_id
group by 1, 2, 3
