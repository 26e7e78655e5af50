/// The console's pages as Mustache templates, compiled into the binary so that nothing is read
/// from disk or fetched from elsewhere. `{{x}}` is HTML-escaped; the only unescaped values
/// (`{{{…}}}`) are the page bodies and charts the console renders itself.
enum Templates {
    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Switchboard</title>
        <link rel="stylesheet" href="/assets/console.css">
        <script src="/assets/console.js" defer></script>
        </head>
        <body>
        <header>
          <a class="brand" href="/">Switchboard</a>
          <nav>
            <a href="/" {{#nav.overview}}aria-current="page"{{/nav.overview}}>Queues</a>
            <a href="/dead" {{#nav.dead}}aria-current="page"{{/nav.dead}}>Dead letters</a>
            <a href="/schedules" {{#nav.schedules}}aria-current="page"{{/nav.schedules}}>Schedules</a>
            <a href="/trace" {{#nav.trace}}aria-current="page"{{/nav.trace}}>Trace</a>
            <a href="/consumers" {{#nav.consumers}}aria-current="page"{{/nav.consumers}}>Consumers</a>
            <a href="/knowledge" {{#nav.knowledge}}aria-current="page"{{/nav.knowledge}}>Knowledge</a>
            {{#operator}}<a href="/privacy" {{#nav.privacy}}aria-current="page"{{/nav.privacy}}>Privacy</a>{{/operator}}
            <a href="/flows" {{#nav.flows}}aria-current="page"{{/nav.flows}}>Stages</a>
            <a href="/audit" {{#nav.audit}}aria-current="page"{{/nav.audit}}>Audit</a>
          </nav>
          <div class="who">{{visitor.name}} <span class="role">{{visitor.role}}</span>
            {{#visitor.canSignOut}}<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{visitor.csrf}}"><button class="link">Sign out</button></form>{{/visitor.canSignOut}}
          </div>
        </header>
        {{#flash}}<p class="flash {{kind}}" role="status">{{text}}</p>{{/flash}}
        <main {{#live}}data-live="{{live}}"{{/live}}>{{{body}}}</main>
        </body>
        </html>
        """

    static let overview = """
        <h1>Queues</h1>
        <p class="meta">Redis {{#redisUp}}<span class="ok">reachable</span>{{/redisUp}}{{^redisUp}}<span class="bad">unreachable</span>{{/redisUp}} · updated {{updated}}</p>
        <div class="scroll"><table id="queues">
        <thead><tr><th>Queue</th><th>State</th><th class="n">Waiting</th><th class="n">Running</th><th class="n">Oldest waiting</th><th class="n">Retries</th><th class="n">Dead</th><th class="n">Consumers</th><th>Done / min (1 h)</th><th>Failed / min (1 h)</th></tr></thead>
        <tbody>
        {{#queues}}
        <tr data-queue="{{name}}">
          <td><a href="/queues/{{nameURL}}">{{name}}</a></td>
          <td>{{#paused}}<span class="warn">paused</span>{{/paused}}{{^paused}}active{{/paused}}</td>
          <td class="n">{{lag}}</td><td class="n">{{pending}}</td><td class="n">{{oldest}}</td><td class="n">{{delayed}}</td>
          <td class="n">{{#hasDead}}<a class="bad" href="/dead?queue={{nameURL}}">{{dead}}</a>{{/hasDead}}{{^hasDead}}0{{/hasDead}}</td>
          <td class="n {{#noConsumer}}bad{{/noConsumer}}">{{consumers}}</td>
          <td class="chart" title="{{processedTotal}} in the last hour">{{{processedChart}}}</td>
          <td class="chart" title="{{failedTotal}} in the last hour">{{{failedChart}}}</td>
        </tr>
        {{/queues}}
        </tbody></table></div>
        """

    static let queue = """
        <h1>Queue {{name}}</h1>
        <p class="meta">{{#paused}}<span class="warn">paused</span>: consumers take no new jobs from it{{/paused}}{{^paused}}active{{/paused}}
          · {{lag}} waiting · {{pending}} running · {{retries}} retries · {{dead}} dead · {{consumers}} consumers · oldest waiting {{oldest}}</p>
        {{#canAct}}
        <form method="post" action="/queues/{{nameURL}}/{{#paused}}resume{{/paused}}{{^paused}}pause{{/paused}}">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <button id="toggle-pause">{{#paused}}Resume{{/paused}}{{^paused}}Pause{{/paused}}</button>
        </form>
        {{/canAct}}
        <h2>Running</h2>
        {{^running}}<p class="empty">Nothing running.</p>{{/running}}
        {{#hasRunning}}<div class="scroll"><table><thead><tr><th>Job</th><th>Kind</th><th>Flow</th><th>Consumer</th><th class="n">Idle</th><th class="n">Deliveries</th></tr></thead><tbody>{{/hasRunning}}
        {{#running}}<tr><td><a href="/trace?id={{idURL}}">{{id}}</a></td><td>{{kind}}</td><td><a href="/trace?id={{flowURL}}">{{flow}}</a></td><td>{{consumer}}</td><td class="n">{{idle}}</td><td class="n">{{deliveries}}</td></tr>{{/running}}
        {{#hasRunning}}</tbody></table></div>{{/hasRunning}}
        <h2>Waiting</h2>
        {{^waiting}}<p class="empty">Nothing waiting.</p>{{/waiting}}
        {{#hasWaiting}}<div class="scroll"><table><thead><tr><th>Job</th><th>Kind</th><th>Flow</th><th>Attempt</th><th>Enqueued</th></tr></thead><tbody>{{/hasWaiting}}
        {{#waiting}}<tr><td><a href="/trace?id={{idURL}}">{{id}}</a></td><td>{{kind}}</td><td><a href="/trace?id={{flowURL}}">{{flow}}</a></td><td>{{attempt}}</td><td>{{enqueued}}</td></tr>{{/waiting}}
        {{#hasWaiting}}</tbody></table></div>{{/hasWaiting}}
        <h2>Retries waiting for their time</h2>
        {{^delayed}}<p class="empty">No retry waiting.</p>{{/delayed}}
        {{#hasDelayed}}<div class="scroll"><table><thead><tr><th>Job</th><th>Kind</th><th>Attempt</th><th>Due</th><th>Last error</th></tr></thead><tbody>{{/hasDelayed}}
        {{#delayed}}<tr><td><a href="/trace?id={{idURL}}">{{id}}</a></td><td>{{kind}}</td><td>{{attempt}}</td><td>{{due}}</td><td class="error">{{error}}</td></tr>{{/delayed}}
        {{#hasDelayed}}</tbody></table></div>{{/hasDelayed}}
        """

    static let dead = """
        <h1>Dead letters</h1>
        <form class="filters" method="get" action="/dead">
          <label>Queue <select name="queue"><option value="">every queue</option>{{#queues}}<option value="{{name}}" {{#selected}}selected{{/selected}}>{{name}}</option>{{/queues}}</select></label>
          <label>Kind <input name="kind" value="{{filter.kind}}" size="14"></label>
          <label>Error contains <input name="error" value="{{filter.error}}" size="18"></label>
          <label>Since <input name="since" value="{{filter.since}}" size="5" placeholder="2h"></label>
          <button>Filter</button>
        </form>
        <p class="meta"><span id="dead-count">{{total}}</span> matching{{counted}}{{#shownFewer}}, the newest {{shown}} shown{{/shownFewer}}.</p>
        {{#hasLetters}}
        <form method="post" id="dead-actions">
          <input type="hidden" name="csrf" value="{{csrf}}">
          {{#filterFields}}<input type="hidden" name="{{name}}" value="{{value}}">{{/filterFields}}
          <div class="scroll"><table><thead><tr>{{#canAct}}<th><input type="checkbox" data-select-all aria-label="select all"></th>{{/canAct}}<th>Job</th><th>Queue</th><th>Kind</th><th class="n">Attempts</th><th>Failed</th><th>Error</th></tr></thead><tbody>
          {{#letters}}<tr data-job="{{id}}">{{#canAct}}<td><input type="checkbox" name="selected" value="{{queue}}/{{entry}}" aria-label="select {{id}}"></td>{{/canAct}}
            <td><a href="/dead/{{queueURL}}/{{entryURL}}">{{id}}</a></td><td>{{queue}}</td><td>{{kind}}</td><td class="n">{{attempts}}</td><td>{{failed}}</td><td class="error">{{error}}</td></tr>{{/letters}}
          </tbody></table></div>
          {{#canAct}}
          <div class="actions">
            <button formaction="/dead/retry" name="scope" value="selected" id="retry-selected">Retry selected</button>
            <button formaction="/dead/drop" name="scope" value="selected" data-confirm="Drop the selected letters for good?" class="danger">Drop selected</button>
            <button formaction="/dead/retry" name="scope" value="all" data-confirm="Retry all {{total}} matching letters?">Retry all {{total}} matching</button>
            <button formaction="/dead/drop" name="scope" value="all" data-confirm="Drop all {{total}} matching letters for good?" class="danger">Drop all {{total}} matching</button>
          </div>
          {{/canAct}}
        </form>
        {{/hasLetters}}
        {{^letters}}<p class="empty">No dead letter matches.</p>{{/letters}}
        """

    static let letter = """
        <h1>Dead letter {{id}}</h1>
        <dl class="facts">
          <dt>Queue</dt><dd>{{queue}}</dd><dt>Kind</dt><dd>{{kind}}</dd>
          <dt>Flow</dt><dd><a href="/trace?id={{flowURL}}">{{flow}}</a></dd>
          <dt>Attempts</dt><dd>{{attempts}} of {{maxAttempts}}</dd>
          <dt>Enqueued</dt><dd>{{enqueued}}</dd><dt>First failed</dt><dd>{{firstFailed}}</dd><dt>Last failed</dt><dd>{{lastFailed}}</dd>
          <dt>Error</dt><dd class="error" id="letter-error">{{error}}</dd>
        </dl>
        {{#canAct}}
        <div class="actions">
          <form method="post" action="/dead/retry"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="scope" value="selected"><input type="hidden" name="selected" value="{{queue}}/{{entry}}"><button id="retry-one">Retry</button></form>
          <form method="post" action="/dead/drop" data-confirm="Drop this letter for good?"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="scope" value="selected"><input type="hidden" name="selected" value="{{queue}}/{{entry}}"><button id="drop-one" class="danger">Drop</button></form>
        </div>
        {{/canAct}}
        <h2>Payload</h2>
        <pre>{{payload}}</pre>
        <h2>Earlier failures</h2>
        {{^history}}<p class="empty">None recorded.</p>{{/history}}
        <ol class="history">{{#history}}<li>attempt {{attempt}} · {{at}} · <span class="error">{{error}}</span></li>{{/history}}</ol>
        """

    static let schedules = """
        <h1>Schedules</h1>
        <p class="meta">{{#leader}}Leader: {{replica}}, lease left {{left}}{{/leader}}{{^leader}}<span class="bad">No scheduler leads</span>: nothing fires.{{/leader}}</p>
        {{^rows}}<p class="empty">No schedule file given to the console (--schedule).</p>{{/rows}}
        {{#hasRows}}<div class="scroll"><table><thead><tr><th>Entry</th><th>When</th><th>Kind</th><th>Next fire</th><th>Last fire</th><th>Last job</th>{{#canAct}}<th></th>{{/canAct}}</tr></thead><tbody>{{/hasRows}}
        {{#rows}}<tr data-schedule="{{name}}"><td>{{name}}</td><td><code>{{cron}}</code> {{zone}}</td><td>{{kind}} on {{queue}}</td><td>{{next}}</td><td>{{last}}</td>
          <td>{{#job}}<a href="/trace?id={{jobURL}}">{{job}}</a> {{#dead}}<span class="bad">dead</span>{{/dead}}{{/job}}</td>
          {{#canAct}}<td><form method="post" action="/schedules/{{nameURL}}/run"><input type="hidden" name="csrf" value="{{csrf}}"><button>Run now</button></form></td>{{/canAct}}</tr>{{/rows}}
        {{#hasRows}}</tbody></table></div>{{/hasRows}}
        """

    static let trace = """
        <h1>Trace</h1>
        <form class="filters" method="get" action="/trace"><label>Flow or job id <input name="id" value="{{id}}" size="30" autofocus></label><button>Trace</button></form>
        {{#missing}}<p class="empty">Nothing is known of {{id}}: no flow or job with that id in any queue, history or dead letters.</p>{{/missing}}
        {{#flow}}
        <p class="meta">Flow {{flow}}{{#truncated}} · some queues were longer than the scan allows: jobs further back may be missing{{/truncated}}</p>
        <div class="scroll"><table id="trace"><thead><tr><th>At</th><th>Queue</th><th>Kind</th><th>Job</th><th class="n">Attempt</th><th>State</th><th class="n">Took</th><th>Detail</th></tr></thead><tbody>
        {{#steps}}<tr><td>{{at}}</td><td><a href="/queues/{{queueURL}}">{{queue}}</a></td><td>{{kind}}</td><td>{{job}}</td><td class="n">{{attempt}}</td><td class="state {{state}}">{{state}}</td><td class="n">{{took}}</td>
          <td>{{#letter}}<a href="/dead/{{queueURL}}/{{letterURL}}">dead letter</a> {{/letter}}<span class="error">{{detail}}</span></td></tr>{{/steps}}
        </tbody></table></div>
        {{/flow}}
        """

    static let consumers = """
        <h1>Consumers</h1>
        {{^consumers}}<p class="empty">No consumer is registered.</p>{{/consumers}}
        {{#hasConsumers}}<div class="scroll"><table><thead><tr><th>Consumer</th><th>Host</th><th>Queues</th><th class="n">In flight</th><th>Last seen</th></tr></thead><tbody>{{/hasConsumers}}
        {{#consumers}}<tr><td>{{name}}</td><td>{{host}}</td><td>{{queues}}</td><td class="n">{{pending}}</td><td>{{seen}} ago</td></tr>{{/consumers}}
        {{#hasConsumers}}</tbody></table></div>{{/hasConsumers}}
        <p class="meta">A consumer blocked on an empty queue is not seen by Redis until work arrives: its last-seen time grows while it waits.</p>
        <h2>Autoscaling</h2>
        {{^autoscaler}}<p class="empty">No autoscaler has decided lately (switchboard autoscale, the stack's autoscale service).</p>{{/autoscaler}}
        {{#autoscaler}}<p class="meta">Decided by {{by}}, {{ago}} ago.</p>
        <div class="scroll"><table id="autoscaling"><thead><tr><th>Service</th><th class="n">Replicas</th><th class="n">Wanted</th><th>Min–max</th><th class="n">Waiting</th><th class="n">Oldest waiting</th><th>Why</th><th>Queues</th></tr></thead><tbody>
        {{#autoscaled}}<tr data-service="{{service}}"><td>{{service}}</td><td class="n">{{current}}</td><td class="n {{#changing}}warn{{/changing}}">{{wanted}}</td><td>{{bounds}}</td><td class="n">{{waiting}}</td><td class="n">{{oldest}}</td><td>{{reason}}</td><td>{{queues}}</td></tr>{{/autoscaled}}
        </tbody></table></div>{{/autoscaler}}
        """

    static let flows = """
        <h1>Stages</h1>
        <p class="meta">Every job kind of this build: the flow it belongs to, its queue, the stages it hands on to and the settings it needs.</p>
        {{#flows}}<h2>{{name}}</h2>
        <div class="scroll"><table><thead><tr><th>Kind</th><th>Queue</th><th>Next</th><th>Needs</th></tr></thead><tbody>
        {{#stages}}<tr><td>{{kind}}{{#entry}} <span class="tag">entry</span>{{/entry}}</td><td><a href="/queues/{{queueURL}}">{{queue}}</a></td><td>{{next}}</td><td>{{needs}}</td></tr>{{/stages}}
        </tbody></table></div>{{/flows}}
        """

    static let knowledge = """
        <h1>Knowledge</h1>
        <p class="meta" id="knowledge-summary"><span id="source-count">{{sourceCount}}</span> sources · {{pieceCount}} pieces guests can be answered from · {{indexingCount}} indexing{{#hasFailed}} · <span class="bad">{{failedCount}} failed</span>{{/hasFailed}} · <span id="candidate-count">{{candidateCount}}</span> candidates waiting{{#noConsumer}} · <span class="bad">no consumer serves the knowledge queue</span>: nothing is indexed, removed or tried{{/noConsumer}}</p>
        <h2>Answers of the last seven days</h2>
        <div class="scroll"><table id="answers"><thead><tr><th>Asked by</th>{{#outcomes}}<th class="n">{{label}}</th>{{/outcomes}}</tr></thead><tbody>
        {{#answers}}<tr data-audience="{{audience}}"><td>{{audience}}</td>{{#cells}}<td class="n">{{n}}</td>{{/cells}}</tr>{{/answers}}
        </tbody></table></div>
        <h2>Sources</h2>
        {{^hasSources}}<p class="empty">No knowledge yet: upload the house manual below, or run switchboard knowledge add.</p>{{/hasSources}}
        {{#hasSources}}<div class="scroll"><table id="sources"><thead><tr><th>Source</th><th>State</th><th class="n">Pieces</th><th>Listing</th><th>Restricted</th><th>Updated</th><th>From</th>{{#canAct}}<th></th>{{/canAct}}</tr></thead><tbody>
        {{#sources}}<tr data-source="{{id}}"><td>{{id}}</td><td class="state {{state}}">{{state}} {{progress}}{{#failed}}<div class="error">{{error}}</div>{{/failed}}</td><td class="n">{{pieces}}</td><td>{{listing}}</td><td>{{#restricted}}all of it{{/restricted}}{{^restricted}}[restricted] sections{{/restricted}}</td><td>{{updated}}</td><td>{{format}} · {{origin}}</td>
          {{#canAct}}<td class="row-actions"><form method="post" action="/knowledge/reindex"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}"><button>Re-index</button></form>
          <form method="post" action="/knowledge/remove" data-confirm="Remove {{id}} from the knowledge?"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}"><button class="danger">Remove</button></form></td>{{/canAct}}</tr>{{/sources}}
        </tbody></table></div>{{/hasSources}}
        {{#canAct}}
        <form method="post" action="/knowledge/add" enctype="multipart/form-data" class="filters" id="upload">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>Document (.md, .txt, .html, .pdf) <input type="file" name="document" id="document" required accept=".md,.markdown,.txt,.html,.htm,.pdf"></label>
          <label>Id <input name="id" size="16" placeholder="its file name"></label>
          <label>Listing <input name="listing" size="12" placeholder="the whole account"></label>
          <label><span><input type="checkbox" name="restricted"> Restricted</span><small>door codes, Wi-Fi: only during a confirmed stay</small></label>
          <button id="upload-document">Add</button>
        </form>
        {{/canAct}}
        <h2>Answers agents gave, waiting for a person</h2>
        {{^hasCandidates}}<p class="empty">No candidate waiting: they come from resolved conversations.</p>{{/hasCandidates}}
        {{#candidates}}
        <form method="post" class="candidate" data-candidate="{{id}}">
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}">
          <p class="meta">From conversation {{conversation}}, {{proposed}}</p>
          <label>Question <textarea name="question" rows="2" {{^canAct}}readonly{{/canAct}}>{{question}}</textarea></label>
          <label>Answer <textarea name="answer" rows="4" {{^canAct}}readonly{{/canAct}}>{{answer}}</textarea></label>
          {{#canAct}}<div class="actions"><button formaction="/knowledge/approve">Approve</button><button formaction="/knowledge/reject" class="danger">Turn down</button></div>{{/canAct}}
        </form>
        {{/candidates}}
        {{#canAct}}
        <h2>Try a question</h2>
        <form method="post" action="/knowledge/try" class="filters" id="try">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>Question <textarea name="question" rows="2" cols="40" required></textarea></label>
          <label>As <select name="audience"><option value="guest">a guest</option><option value="team">the team</option><option value="agent">an agent</option></select></label>
          <label>Guest's phone or email <input name="contact" size="18"></label>
          <label>or conversation <input name="conversation" size="6"></label>
          <button id="try-question">Try</button>
        </form>
        <p class="meta">Answered as the chat flow would answer it, by a consumer of the knowledge queue; nothing is posted.</p>
        {{/canAct}}
        """

    static let trial = """
        <h1>Tried question</h1>
        {{#waiting}}<p class="empty" id="trial-waiting">Being answered by a consumer of the knowledge queue…{{#noConsumer}} <span class="bad">No consumer serves the knowledge queue.</span>{{/noConsumer}}</p>{{/waiting}}
        {{#error}}<p class="flash bad" id="trial-error">Not answered: {{error}}</p>{{/error}}
        {{#answered}}
        <h2>Retrieved, as {{audience}} asks</h2>
        {{^hasPieces}}<p class="empty">Nothing from the knowledge.</p>{{/hasPieces}}
        {{#hasPieces}}<div class="scroll"><table id="trial-pieces"><thead><tr><th class="n">Score</th><th>Source</th><th>Listing</th><th>Text</th></tr></thead><tbody>
        {{#pieces}}<tr><td class="n">{{score}}</td><td>{{source}}{{#title}} — {{title}}{{/title}}{{#restricted}} <span class="tag">restricted</span>{{/restricted}}</td><td>{{listing}}</td><td class="error text">{{text}}</td></tr>{{/pieces}}
        </tbody></table></div>{{/hasPieces}}
        <dl class="facts">
          <dt>This guest's booking</dt><dd id="trial-booking">{{#booking}}{{booking}}{{/booking}}{{^booking}}none known{{/booking}}</dd>
          <dt>Restricted knowledge</dt><dd>{{#restrictedOpen}}open: a confirmed stay is on{{/restrictedOpen}}{{^restrictedOpen}}closed{{/restrictedOpen}}</dd>
          <dt>Hands over</dt><dd id="trial-handover">{{#handOver}}yes: {{handOver}}{{/handOver}}{{^handOver}}no{{/handOver}}</dd>
        </dl>
        {{#hasLeftOut}}<h2>Left out</h2><div class="scroll"><table id="trial-left-out"><thead><tr><th class="n">Score</th><th>Source</th><th>Why</th></tr></thead><tbody>
        {{#leftOut}}<tr><td class="n">{{score}}</td><td>{{source}}{{#title}} — {{title}}{{/title}}</td><td>{{reason}}</td></tr>{{/leftOut}}
        </tbody></table></div>{{/hasLeftOut}}
        <h2>Answer</h2>
        <pre id="trial-answer">{{answer}}</pre>
        {{/answered}}
        <p><a href="/knowledge">Back to the knowledge</a></p>
        """

    static let privacy = """
        <h1>Privacy</h1>
        <p class="meta">Everything Switchboard holds about one person — jobs, dead letters, history, knowledge points, reservations, conversation records, blobs, the attachments mirror — found, then forgotten on confirmation. For a deletion request, delete the contact in Chatwoot first.{{#noConsumer}} <span class="bad">No consumer serves the privacy queue</span>: nothing is looked up or forgotten.{{/noConsumer}}</p>
        <form method="post" action="/privacy/find" class="filters" id="privacy-find">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>Phone <input name="phone" id="privacy-phone" placeholder="+33 6 12 34 56 78"></label>
          <label>or email <input name="email" id="privacy-email" type="email"></label>
          <label>or Chatwoot contact <input name="contact" id="privacy-contact" inputmode="numeric"></label>
          <button id="privacy-look">Look</button>
        </form>
        <h2>Retention</h2>
        {{^retention}}<p class="empty">No retention run yet (privacy.retention, daily from the schedule).</p>{{/retention}}
        {{#retentionAt}}<p class="meta">Last run {{retentionAt}}.</p>{{/retentionAt}}
        <div class="scroll"><table id="retention"><thead><tr><th>Setting</th><th>Kept</th><th>What</th><th>Oldest held</th><th class="n">Removed</th></tr></thead><tbody>
        {{#retention}}<tr><td>{{setting}}</td><td>{{kept}}</td><td>{{what}}</td><td>{{oldest}}</td><td class="n">{{removed}}</td></tr>{{/retention}}
        </tbody></table></div>
        <h2>Privacy actions</h2>
        {{^hasActions}}<p class="empty">No one has been looked up or forgotten.</p>{{/hasActions}}
        {{#hasActions}}<div class="scroll"><table id="privacy-actions"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Whom (hashed)</th><th class="n">Removed</th></tr></thead><tbody>
        {{#actions}}<tr><td>{{at}}</td><td>{{who}}</td><td>{{action}}</td><td>{{target}}</td><td class="n">{{count}}</td></tr>{{/actions}}
        </tbody></table></div>{{/hasActions}}
        """

    static let privacyRun = """
        <h1>Privacy</h1>
        {{#waiting}}<p class="empty" id="privacy-waiting">Being looked up by a consumer of the privacy queue…{{#noConsumer}} <span class="bad">No consumer serves the privacy queue.</span>{{/noConsumer}}</p>{{/waiting}}
        {{^waiting}}
        <h2 id="privacy-subject">{{#forgot}}Forgotten about{{/forgot}}{{^forgot}}Held about{{/forgot}} {{subject}}</h2>
        {{#failed}}<p class="flash bad" id="privacy-failed">Stopped at {{failed}}. What is listed as removed was removed; run it again to finish.</p>{{/failed}}
        {{#stillRunning}}<p class="flash bad">{{stillRunning}} job(s) of this person were still running: forget again once they finish.</p>{{/stillRunning}}
        {{#chatwootContacts}}<p class="meta" id="privacy-chatwoot">Chatwoot still has contact {{chatwootContacts}} for this person: delete it there too.</p>{{/chatwootContacts}}
        {{#nothing}}<p class="empty" id="privacy-nothing">Nothing held.</p>{{/nothing}}
        {{#places}}<h3>{{place}}: {{held}}{{#forgot}}, {{removed}} removed{{/forgot}}</h3>
        <ul class="held">{{#items}}<li>{{#at}}{{at}} · {{/at}}{{what}}</li>{{/items}}{{#more}}<li>… and {{more}} more</li>{{/more}}</ul>
        {{#notes}}<p class="meta">{{.}}</p>{{/notes}}{{/places}}
        {{#looked}}{{^nothing}}
        <form method="post" action="/privacy/forget" id="privacy-forget" data-confirm="Forget everything listed, for good?">
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="run" value="{{id}}">
          <label><input type="checkbox" name="confirm" value="yes" id="privacy-confirm"> Remove all of the above for good (the audit keeps who, when and how many — never the data)</label>
          <label><input type="checkbox" name="redact" id="privacy-redact"> Keep the dead letters without their payload</label>
          <button class="danger" id="privacy-forget-button">Forget</button>
        </form>{{/nothing}}{{/looked}}
        {{/waiting}}
        <p><a href="/privacy">Back to privacy</a></p>
        """

    static let audit = """
        <h1>Audit</h1>
        {{^entries}}<p class="empty">No action has been taken from the console.</p>{{/entries}}
        {{#hasEntries}}<div class="scroll"><table id="audit"><thead><tr><th>When</th><th>Who</th><th>Role</th><th>Action</th><th>On</th><th class="n">How many</th></tr></thead><tbody>{{/hasEntries}}
        {{#entries}}<tr><td>{{at}}</td><td>{{who}}</td><td>{{role}}</td><td>{{action}}</td><td>{{target}}</td><td class="n">{{count}}</td></tr>{{/entries}}
        {{#hasEntries}}</tbody></table></div>{{/hasEntries}}
        """

    static let login = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Switchboard</title>
        <link rel="stylesheet" href="/assets/console.css"></head>
        <body class="login">
        <main>
          <h1>Switchboard</h1>
          {{#message}}<p class="flash bad" role="alert">{{message}}</p>{{/message}}
          {{#openID}}<p><a class="button" id="sign-in" href="/auth/start?next={{next}}">Sign in with {{provider}}</a></p>{{/openID}}
          {{#token}}
          <form method="post" action="/login">
            <input type="hidden" name="next" value="{{next}}">
            <label>Console token <input type="password" name="token" id="token" autocomplete="current-password" required></label>
            <button id="token-sign-in">Sign in</button>
          </form>
          {{/token}}
        </main>
        </body>
        </html>
        """

    static let problem = """
        <h1>{{title}}</h1>
        <p class="flash bad">{{message}}</p>
        <p><a href="/">Back to the queues</a></p>
        """
}
