"""The service layer shared by the API, the v3 layer and the pages: every read and change goes here.

Endpoints stay thin (parse parameters, call one service, shape the response). Services take a
Connection and a Principal, decide what the caller may see, and apply disclosure control to every
public output (services/protection.py), so no endpoint can reach an unprotected figure by mistake.
"""
