from tests.sessions_app.replica.server import Replica, ReplicaConfig, SentMessage, chat_title

__all__ = ["Replica", "ReplicaConfig", "SentMessage", "chat_title"]
