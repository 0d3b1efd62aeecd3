"""The dashboard: a Textual App (`app.py`) over one home's store. It reads the store on a
thread of its own (`live.py`) and changes nothing itself: each action is a command that the
App sends, and the scheduler, in this process or another, carries it out. Screens are in
`screens/`, widgets in `widgets/`, app-wide messages in `messages.py`, and how values are
written for people in `format.py`."""
