import sys, time, gc, orjson
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.dirname(__import__('os').path.abspath(__file__))))
from validator.testing.payloads import make_body
from validator.engine.engine import Engine
e = Engine.from_config_file(None)
gc.freeze(); gc.disable()
for n in [int(x) for x in sys.argv[1].split(',')]:
    raw = orjson.dumps(make_body(n, seed=0, defect_rate=0.03))
    k = max(7, 3000 // n)
    mins = {}; tot = 1e9; tp = 1e9
    for _ in range(k):
        t0 = time.perf_counter(); body = orjson.loads(raw); t1 = time.perf_counter()
        r = e.validate(body); ans = orjson.dumps(r.answer); t2 = time.perf_counter()
        tp = min(tp, t1 - t0); tot = min(tot, t2 - t1)
        for s, v in r.stages_ms.items(): mins[s] = min(mins.get(s, 1e9), v)
    st = sorted(mins.items(), key=lambda kv: -kv[1])
    print(f"n={n} parse {tp*1e3:.3f} validate+ser {tot*1e3:.3f} sum-of-stage-mins {sum(mins.values()):.3f}")
    print("   " + ", ".join(f"{k}={v:.3f}" for k, v in st[:14]))
