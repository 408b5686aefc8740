{#- The time a snapshot closes the version of a row deleted at source. dbt-mysql uses
    `current_timestamp()`: the server's time zone, to the second. Timestamps here are
    UTC, so: `utc_timestamp(6)`. Overrides dbt's macro on MySQL for this project. -#}
{% macro mysql__snapshot_get_time() -%}
    utc_timestamp(6)
{%- endmacro %}
