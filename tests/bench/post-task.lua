-- wrk script: POST /api/tasks with a JSON body (project id from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"projectId":"' .. os.getenv("PROJECT_ID") .. '","title":"load task","description":"created by wrk"}'
