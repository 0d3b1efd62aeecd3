"""`TextPanel`: a Static for text that is set again and again, often unchanged (a DAG screen's
title and run details, at each cursor move and each refresh). It draws only a text that
changed, and asks for a layout of the screen only when its height changed: a Static's
`update` lays out the whole screen every time (issue 13)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TextPanel(Static):
    """A Static that draws a text only when it changed and lays out only when it must."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        """The text shown."""

    def show(self, text: Text) -> None:
        """Show `text`; nothing to do when it is the text shown (same characters, same
        styles)."""
        if text == self.text:
            return
        self.text = text
        width, height = self.content_size
        self.update(text, layout=False)
        if not width or self.get_content_height(self.size, self.size, width) != height:
            self.refresh(layout=True)
