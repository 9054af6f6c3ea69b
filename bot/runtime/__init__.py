"""The Telegram runtime: application, context, runner, errors, inbox, limiter, jobs and the
delivery engine. The rules of the network (the other packages of `bot`) never import it."""
