# Thin wrappers over dev.py (which needs nothing but Python 3.11).
PY ?= python3

.PHONY: demo test test-fast test-pg lint install bench-solomon bench-mojokerto bench-insertion bench-booking
demo:
	$(PY) dev.py demo
test:
	$(PY) dev.py test
test-fast:
	$(PY) dev.py test -m "not slow"
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
test-pg:
	JEMPUT_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres $(PY) dev.py test
install:
	$(PY) dev.py install
bench-solomon:
	.venv/bin/python -m routing.bench --time-limit 10 --out docs/benchmarks/solomon-10s.json
bench-insertion:
	.venv/bin/python -m routing.bench_insertion
bench-mojokerto:
	.venv/bin/python -m routing.bench --mojokerto 1000 --teams 20 --days 5 --time-limit 50
bench-booking:
	.venv/bin/python -m app.bench_booking
