"""Print a drill's measurements next to the policy's targets, then its steps.

Reads two JSON documents on stdin: `terraform output -json drill` and
`terraform output -json targets` of examples/drill.
"""
import json
import sys

text = sys.stdin.read().strip()
drill, end = json.JSONDecoder().raw_decode(text)
targets = json.loads(text[end:].strip())

print(f"  {'':6}{'measured':>12}  {'target':>8}")
print(f"  {'RTO':6}{drill['measured_rto']:>12}  {targets['rto']:>8}   (design estimate {targets['estimated_rto']})")
print(f"  {'RPO':6}{drill['measured_rpo']:>12}  {targets['rpo']:>8}")
print(f"  restored objects identical to the snapshot: {drill['identical']}; passed: {drill['passed']}")
print()
for s in drill["steps"]:
    group = f"group {s['group']}" if s["group"] else ""
    print(f"  {s['name']:<48} {group:<8} {s['duration']:>9}  {s['error']}")
