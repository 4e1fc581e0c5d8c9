"""trustsim/market.py: the market's arrays over buyers, suppliers and relationships, their per-buyer sums and
the relationship network exported from them."""

from trustsim import TrustMarket


def test_network_export():
    m = TrustMarket(rng=1, buyers=10, suppliers=5, steps=5)
    m.run()
    g = m.network()
    assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "buyer") == 10
    assert sum(d["slots"] for *_, d in g.edges(data=True)) == 20
    assert all(0 <= d["trust_buyer"] <= 1 for *_, d in g.edges(data=True))
