with

source as (
    {{ landing_source(
        "fiscal_calendar",
        ["date", "fiscal_year", "fiscal_quarter", "fiscal_month", "fiscal_week"]
    ) }}
),

renamed as (
    select
        _file_name as file_name,
        _parse_error as parse_error,
        _raw_record as raw_record,
        _dlt_load_id as load_id,
        _row_number as file_row_number,
        {{ medallion.try_cast("trim(fiscal_year)", medallion.int_type()) }}
            as fiscal_year,
        {{ medallion.try_cast("trim(fiscal_quarter)", medallion.int_type()) }}
            as fiscal_quarter,
        {{ medallion.try_cast("trim(fiscal_month)", medallion.int_type()) }}
            as fiscal_month,
        {{ medallion.try_cast("trim(fiscal_week)", medallion.int_type()) }}
            as fiscal_week,
        cast({{ medallion.parse_timestamp("trim(date)") }} as date) as calendar_date,
        _file_modified_at as file_modified_at
    from source
)

select * from renamed
