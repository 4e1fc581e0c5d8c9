"""The browser app: explore a market live with Mesa's SolaraViz (``trustsim viz``).

``app.py`` declares the page (controls, views, scenario picker) and ``serve`` starts it;
``components.py`` draws the views from the model's arrays and its recorded time series.
Nothing here is imported by the model: the app drives the same ``TrustMarket`` as ``trustsim run``.
"""
