"""Features of one probe's signal (found through --pythonpath=$application_path/src/modules)."""

import math


def features(values):
    return {"samples": len(values), "mean": round(sum(values) / len(values), 6),
            "peak": max(values, key=abs),
            "rms": round(math.sqrt(sum(v * v for v in values) / len(values)), 6)}
