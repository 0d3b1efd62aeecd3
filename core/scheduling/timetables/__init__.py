"""Timetables: what a schedule means as runs (logical date, data interval, when it may start),
as pure functions of plain data over croniter (`base`, `interval`), the timetable of a spec
(`factory`), and the APScheduler trigger that asks a timetable when to wake up (`trigger`)."""
