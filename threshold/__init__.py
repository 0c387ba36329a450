"""Runtime pieces shared by the Rasa server and the action server."""
