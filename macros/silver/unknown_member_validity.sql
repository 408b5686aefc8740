{#- The last three columns of an SCD2 dimension's unknown member (key -1): current, and
    valid for all time, so a fact without a match points at it whatever its date. -#}
{% macro unknown_member_validity() -%}
    true as is_current,
    {{ oldest_timestamp() }} as valid_from,
    {{ newest_timestamp() }} as valid_to
{%- endmacro %}
