"""One module per screen. A screen reads what it shows on the live thread (`load`), puts it
on screen (`show`), and turns keys into messages for the App (`CommandRequested`,
`RefreshRequested`); it never reaches into the App."""
