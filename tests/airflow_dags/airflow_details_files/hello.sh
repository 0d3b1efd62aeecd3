echo hello {{ ds }}
