"""Print a markdown table (median, ratio to ttc_fast, throughput) from pytest-benchmark JSON files."""
import json
import sys
from collections import defaultdict


def main(paths):
    for path in paths:
        data = json.load(open(path))
        groups = defaultdict(dict)
        for b in data["benchmarks"]:
            name = b["name"]
            impl = b["params"].get("impl")
            key = name.replace(f"-{impl}]", "]").replace(f"[{impl}]", "")
            groups[key][impl] = b
        print(f"\n### {path}  ({data['machine_info'].get('cpu', {}).get('brand_raw', '')}, {data['datetime']})\n")
        print("| case | impl | median (us) | vs ttc_fast | extra |")
        print("|---|---|---:|---:|---|")
        for key, impls in groups.items():
            ours = impls.get("ttc_fast")
            for impl, b in impls.items():
                med = b["stats"]["median"]
                ratio = med / ours["stats"]["median"] if ours else float("nan")
                ex = b.get("extra_info", {})
                extra = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                  for k, v in ex.items() if k in ("unique_GBps", "hbm_fraction", "rows_per_s",
                                                                  "problems_per_s", "t_ideal_us"))
                print(f"| {key} | {impl} | {med * 1e6:.1f} | {ratio:.2f}x | {extra} |")


if __name__ == "__main__":
    main(sys.argv[1:])
