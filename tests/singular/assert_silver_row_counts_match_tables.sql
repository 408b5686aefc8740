{#- Gold rule 6, counted independently: each number of audit.silver_row_counts must be
    what the tables themselves hold, counted here another way than the model counts
    it, not only balance (the generic test `reconciles` checks rows_in = rows_out +
    duplicates_removed + rows_quarantined).
    - transactions: in = the staged rows of both databases (the model counts
      int_transactions_unioned); quarantined = transactions_rejected; out =
      fct_transactions + accepted rows deleted at source; duplicates = the staged rows
      deduplication dropped.
    - customers: in = the staged rows of both databases; out = the distinct staged ids
      less the ids merged into a survivor (the model counts int_customers_merged and
      the deleted rows); duplicates = versions dropped + ids merged into a survivor.
    - products: in = the staged rows of both databases; out = the distinct staged
      product codes (the model counts int_products_deduplicated); duplicates = the
      staged rows deduplication dropped.
    - landing files: in = the staged rows; quarantined = file_rows_rejected of the type;
      out = the distinct keys of the accepted rows; duplicates = the other accepted rows.
    Returns each silver table whose audit row differs (or is missing). -#}
with

transactions_staged as (
    select transaction_id from {{ ref("stg_archive__transactions") }}
    union all
    select transaction_id from {{ ref("stg_live__transactions") }}
),

customers_staged as (
    select customer_id from {{ ref("stg_archive__customers") }}
    union all
    select customer_id from {{ ref("stg_live__customers") }}
),

products_staged as (
    select product_code from {{ ref("stg_archive__products") }}
    union all
    select product_code from {{ ref("stg_live__products") }}
),

transactions_deduplicated as (
    select * from {{ ref("int_transactions_deduplicated") }}
),

customers_deduplicated as (
    select * from {{ ref("int_customers_deduplicated") }}
),

file_rows_rejected as (
    select * from {{ ref("file_rows_rejected") }}
),

expected as (
    select
        'int_transactions_deduplicated' as silver_table,
        (select count(*) from transactions_staged) as rows_in,
        (select count(*) from {{ ref("fct_transactions") }})
        + (
            select count(*) from transactions_deduplicated
            where is_deleted and rejection_reason is null
        ) as rows_out,
        (select count(*) from transactions_staged)
        - (select count(*) from transactions_deduplicated) as duplicates_removed,
        (select count(*) from {{ ref("transactions_rejected") }}) as rows_quarantined
    union all
    select
        'int_customers_merged' as silver_table,
        (select count(*) from customers_staged) as rows_in,
        (select count(distinct customer_id) from customers_staged)
        - (
            select count(*) from {{ ref("int_customer_id_map") }}
            where customer_id <> survivor_customer_id
        ) as rows_out,
        (select count(*) from customers_staged)
        - (select count(*) from customers_deduplicated)
        + (
            select count(*) from {{ ref("int_customer_id_map") }}
            where customer_id <> survivor_customer_id
        ) as duplicates_removed,
        0 as rows_quarantined
    union all
    select
        'int_products_deduplicated' as silver_table,
        (select count(*) from products_staged) as rows_in,
        (select count(distinct product_code) from products_staged) as rows_out,
        (select count(*) from products_staged)
        - (select count(*) from {{ ref("int_products_deduplicated") }})
            as duplicates_removed,
        0 as rows_quarantined
    {%- for silver_table, staged, file_type, key in [
        ("int_fiscal_calendar_judged", "stg_files__fiscal_calendar", "fiscal_calendar",
         "calendar_date"),
        ("int_survey_responses_judged", "stg_files__surveys", "surveys", "response_id"),
        ("int_expenses_judged", "stg_files__expenses", "expenses", "expense_id"),
    ] %}
        union all
        select
            '{{ silver_table }}' as silver_table,
            (select count(*) from {{ ref(staged) }}) as rows_in,
            (
                select count(distinct {{ key }}) from {{ ref(silver_table) }}
                where rejection_reason is null
            ) as rows_out,
            (
                select count(*) from {{ ref(silver_table) }}
                where rejection_reason is null
            )
            - (
                select count(distinct {{ key }}) from {{ ref(silver_table) }}
                where rejection_reason is null
            ) as duplicates_removed,
            (
                select count(*) from file_rows_rejected
                where file_type = '{{ file_type }}'
            ) as rows_quarantined
    {%- endfor %}
),

audit as (
    select * from {{ ref("silver_row_counts") }}
)

select
    expected.silver_table,
    expected.rows_in as expected_rows_in,
    audit.rows_in,
    expected.rows_out as expected_rows_out,
    audit.rows_out,
    expected.duplicates_removed as expected_duplicates_removed,
    audit.duplicates_removed,
    expected.rows_quarantined as expected_rows_quarantined,
    audit.rows_quarantined
from expected
left join audit
    on expected.silver_table = audit.silver_table
where
    audit.silver_table is null
    or audit.rows_in <> expected.rows_in
    or audit.rows_out <> expected.rows_out
    or audit.duplicates_removed <> expected.duplicates_removed
    or audit.rows_quarantined <> expected.rows_quarantined
