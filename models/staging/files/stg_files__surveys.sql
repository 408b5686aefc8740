with

source as (
    {{ landing_source(
        "surveys",
        ["response_id", "customer_email", "submitted_at", "nps_score", "satisfaction",
         "channel", "comment"]
    ) }}
),

renamed as (
    select
        nullif(trim(response_id), '') as response_id,
        {{ medallion.normalise_email("customer_email") }} as customer_email,
        nullif(lower(trim(channel)), '') as channel,
        comment,
        _file_name as file_name,
        _parse_error as parse_error,
        _raw_record as raw_record,
        _dlt_load_id as load_id,
        _row_number as file_row_number,
        {{ medallion.try_cast("trim(nps_score)", medallion.int_type()) }} as nps_score,
        {{ medallion.try_cast("trim(satisfaction)", medallion.int_type()) }}
            as satisfaction,
        {{ medallion.parse_timestamp("trim(submitted_at)") }} as submitted_at,
        _file_modified_at as file_modified_at
    from source
)

select * from renamed
