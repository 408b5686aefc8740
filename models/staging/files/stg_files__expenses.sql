with

source as (
    {{ landing_source(
        "expenses",
        ["expense_id", "submitted_by", "department", "category", "amount", "currency",
         "expense_date", "description"]
    ) }}
),

renamed as (
    select
        nullif(trim(expense_id), '') as expense_id,
        nullif(trim(submitted_by), '') as submitted_by,
        nullif(trim(department), '') as department,
        nullif(trim(category), '') as category,
        nullif(upper(trim(currency)), '') as currency,
        description,
        amount as amount_as_entered,
        _file_name as file_name,
        _parse_error as parse_error,
        _raw_record as raw_record,
        _dlt_load_id as load_id,
        _row_number as file_row_number,
        {{ medallion.parse_decimal("amount") }} as amount,
        cast({{ medallion.parse_timestamp("trim(expense_date)") }} as date)
            as expense_date,
        _file_modified_at as file_modified_at
    from source
)

select * from renamed
