-- wrk script: the first webhook of a call, as Twilio posts it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "AccountSid=AC00000000000000000000000000000000&CallSid=CA00000000000000000000000000000001"
  .. "&From=%2B15551112222&To=%2B15553334444&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01"
