"""Commands: what a user may ask of a home (trigger, clear, mark, pause, set or delete a
variable) as value types with a JSON wire form (`model`, no engine imports, so the dashboard can
use them), and how they travel between processes (`transport`: the scheduler's Unix socket).
Carrying them out is `scheduling.apply`'s job."""
