{#- The watermark of an incremental build: the newest dlt load id that the last
    successful build had read, as `medallion build` passes it in
    `MEDALLION_CHANGED_SINCE` when only live rows changed since then and the project is
    the same (docs/architecture.md). Every row loaded after that build has a
    greater load id (dlt load ids are the load's start time, and runs never overlap:
    the run lock). '' when the build must be whole; then the incremental models are
    rebuilt in full (their `full_refresh` config). Anything but a load id is refused. -#}
{% macro changed_since() -%}
    {%- set since = env_var("MEDALLION_CHANGED_SINCE", "") -%}
    {%- if since and not modules.re.fullmatch("[0-9]{1,20}(\.[0-9]{1,9})?", since) -%}
        {{ exceptions.raise_compiler_error(
            "MEDALLION_CHANGED_SINCE must be a dlt load id such as 1733224523.123456, not "
            ~ since | tojson
        ) }}
    {%- endif -%}
    {{ return(since) }}
{%- endmacro %}
