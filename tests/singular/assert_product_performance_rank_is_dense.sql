{#- gold.md, product_performance: revenue_rank is the dense rank by total_revenue
    descending within the territory (1 + the number of distinct higher revenues of the
    territory: ties share a rank, no gaps), best_revenue is the territory's highest,
    and revenue_diff_from_best = best_revenue - total_revenue. Recomputed without a
    window function; returns each disagreeing row. -#}
with

performance as (
    select * from {{ ref("product_performance") }}
),

expected as (
    select
        performance.territory,
        performance.product_code,
        performance.total_revenue,
        performance.revenue_rank,
        performance.best_revenue,
        performance.revenue_diff_from_best,
        1 + (
            select count(distinct higher.total_revenue)
            from performance as higher
            where
                higher.territory = performance.territory
                and higher.total_revenue > performance.total_revenue
        ) as expected_rank,
        (
            select max(peer.total_revenue)
            from performance as peer
            where peer.territory = performance.territory
        ) as expected_best_revenue
    from performance
)

select * from expected
where
    revenue_rank <> expected_rank
    or best_revenue <> expected_best_revenue
    or revenue_diff_from_best <> expected_best_revenue - total_revenue
