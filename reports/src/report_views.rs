//! The report's interactive sections: the placement view (nodes grouped by pool and zone, each
//! with its pods, and a time slider that scrubs through placement over the run) and the
//! filterable event log. Data is embedded as compact JSON and drawn by a small inline script;
//! the script marks the page `data-ok="1"` when it has drawn, and records script errors in
//! `data-errors`, so a headless browser can check the page.

use std::fmt::Write;

use models::events::EventRecord;

use crate::html::esc;
use crate::placement::{NodeRow, PodRow};

/// JSON inside a `<script>`: `</` cannot end the element early.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string().replace("</", "<\\/")
}

/// How many pods the view embeds (the first ones created); a longer run's view says so.
pub const VIEW_PODS: usize = 20_000;

const STYLE: &str = "<style>.pl-pool{margin:.6em 0}.pl-zone{display:inline-block;vertical-align:top;\
margin:0 .6em .6em 0}.pl-node{display:inline-block;vertical-align:top;border:1px solid #ccd;\
border-radius:4px;margin:2px;padding:3px;min-width:120px;max-width:300px;font-size:12px}\
.pl-node b{display:block}.pl-pod{display:block;white-space:nowrap;overflow:hidden;\
text-overflow:ellipsis}.ph-Running{color:#161}.ph-Pending,.ph-ContainerCreating{color:#a60}\
.ph-Terminating,.ph-Error,.ph-Failed,.ph-Evicted,.ph-OOMKilled{color:#b00}.ph-Completed{color:#666}\
#ev-filter input,#ev-filter select{margin-right:1em}</style>";

/// The placement section: `pods` and `nodes` of the run, `end` its length in seconds.
/// `total_pods` counts those not passed (beyond [`VIEW_PODS`]).
pub fn placement_section(
    pods: &[PodRow],
    total_pods: usize,
    nodes: &[NodeRow],
    end: f64,
) -> String {
    let mut view = PlacementView::new(nodes);
    for p in pods {
        view.push(p);
    }
    view.section(total_pods, nodes, end)
}

/// The placement view's data built one pod at a time, so that a long run's view holds each
/// shown pod as its compact JSON row only (not every row read back and its JSON tree).
pub struct PlacementView<'n> {
    node_index: std::collections::BTreeMap<&'n str, usize>,
    /// The shown pods' rows, comma-separated, escaped for a `<script>`.
    rows: String,
    shown: usize,
    changes: bool,
}

/// A time in seconds, or JSON null.
fn json_seconds(x: Option<f64>) -> serde_json::Value {
    x.map_or(serde_json::Value::Null, |v| serde_json::json!(v))
}

/// One node of the view: name, pool, zone, when it came and went.
fn node_row(n: &NodeRow) -> serde_json::Value {
    serde_json::json!([
        n.name,
        n.pool.as_deref().unwrap_or("(no pool)"),
        n.zone.as_deref().unwrap_or("(no zone)"),
        n.added_seconds,
        json_seconds(n.removed_seconds)
    ])
}

/// One pod of the view: name, node index, its lifecycle times, how it ended, when it became
/// Ready, its containers.
fn pod_row(p: &PodRow, node: serde_json::Value) -> serde_json::Value {
    let t = json_seconds;
    let done = match (&p.reason, p.phase.as_str()) {
        (Some(r), _) => r.as_str(),
        (None, "Succeeded") => "Completed",
        (None, "Failed") => "Error",
        (None, p) => p,
    };
    serde_json::json!([
        format!("{}/{}", p.namespace, p.name),
        node,
        p.created_seconds,
        t(p.scheduled_seconds),
        t(p.started_seconds),
        t(p.finished_seconds),
        t(p.terminating_seconds),
        t(p.deleted_seconds),
        done,
        if p.ready {
            t(p.ready_seconds)
        } else {
            serde_json::Value::Null
        },
        p.containers
    ])
}

impl<'n> PlacementView<'n> {
    pub fn new(nodes: &'n [NodeRow]) -> Self {
        PlacementView {
            node_index: nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), i))
                .collect(),
            rows: String::new(),
            shown: 0,
            changes: false,
        }
    }

    /// How many pods the view shows so far; it takes no more than [`VIEW_PODS`].
    pub fn shown(&self) -> usize {
        self.shown
    }

    /// Adds `p` to the view (ignored once it shows [`VIEW_PODS`] pods).
    pub fn push(&mut self, p: &PodRow) {
        if self.shown >= VIEW_PODS {
            return;
        }
        self.shown += 1;
        self.changes |=
            p.created_seconds > 0.0 || p.deleted_seconds.is_some() || p.scheduled_seconds.is_some();
        let node = p
            .node
            .as_deref()
            .and_then(|n| self.node_index.get(n))
            .map_or(serde_json::Value::Null, |i| serde_json::json!(i));
        let row = pod_row(p, node);
        if self.shown > 1 {
            self.rows.push(',');
        }
        // A row starts with `[` and ends with `]`, so escaping row by row escapes the whole.
        self.rows.push_str(&script_json(&row));
    }

    /// The section, `total_pods` being every pod of the run (shown or not).
    pub fn section(self, total_pods: usize, nodes: &[NodeRow], end: f64) -> String {
        let mut h = String::new();
        self.write_section(total_pods, nodes, end, &mut h);
        h
    }

    /// Bytes the shown pods' rows take (most of the section, for a long run).
    pub fn rows_len(&self) -> usize {
        self.rows.len()
    }

    /// [`Self::section`] appended to `h`, the rows moved there once (a long run's view is
    /// megabytes).
    pub fn write_section(self, total_pods: usize, nodes: &[NodeRow], end: f64, h: &mut String) {
        let nodes_json: Vec<serde_json::Value> = nodes.iter().map(node_row).collect();
        let changes = self.changes
            || nodes
                .iter()
                .any(|n| n.added_seconds > 0.0 || n.removed_seconds.is_some());
        let shown = self.shown;
        h.push_str(STYLE);
        let _ = write!(
            h,
            "<h2 id=\"placement\">Placement</h2><p>Nodes by pool and zone with their pods, as \
         <code>kubesim get pods OUTDIR -o wide</code> lists them{}.{}</p>",
            if changes {
                "; move the slider to see placement at another time"
            } else {
                ""
            },
            if total_pods > shown {
                format!(" The first {shown} of {total_pods} pods are shown.")
            } else {
                String::new()
            }
        );
        if changes {
            h.push_str(
                "<p><input type=\"range\" id=\"pl-time\" min=\"0\" max=\"1000\" value=\"1000\" \
             style=\"width:70%\"> at <b id=\"pl-at\"></b></p>",
            );
        }
        h.push_str(
            "<noscript>The placement view needs JavaScript; pods.jsonl holds the same data.\
             </noscript><div id=\"pl-view\"></div>",
        );
        // `{"end":…,"nodes":[…],"pods":[…]}`, as the object's keys are ordered.
        let _ = write!(
            h,
            "<script type=\"application/json\" id=\"pl-data\">{{\"end\":{},\"nodes\":{},\"pods\":[",
            script_json(&serde_json::json!(end)),
            script_json(&serde_json::Value::Array(nodes_json)),
        );
        h.push_str(&self.rows);
        h.push_str("]}</script>");
    }
}

/// The event log: the shown Events in a table with filters by type, reason and object.
pub fn event_log_section(events: &[EventRecord], total_events: u64, shown: usize) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<h2 id=\"events\">Events</h2><p>{} events{}; all of them are in <code>events.txt</code> \
         and <code>events.jsonl</code> (<code>kubesim events OUTDIR</code> filters them).</p>\
         <p id=\"ev-filter\">type <select id=\"ev-type\"><option value=\"\">any</option>\
         <option>Normal</option><option>Warning</option></select> reason \
         <input id=\"ev-reason\" size=\"16\"> object <input id=\"ev-object\" size=\"24\"> \
         <span id=\"ev-count\"></span></p><table id=\"event-log\"><tr><th>time</th><th>type</th>\
         <th>reason</th><th>object</th><th>message</th></tr>",
        total_events,
        if total_events > shown as u64 {
            format!(", the first {shown} shown")
        } else {
            String::new()
        }
    );
    for e in events.iter().take(shown) {
        let kind = e.event_type.as_str();
        let _ = write!(
            h,
            "<tr class=\"ev{}\" data-type=\"{kind}\" data-reason=\"{}\" data-object=\"{}\"><td>{}</td>\
             <td>{kind}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if kind == "Warning" { " warn" } else { "" },
            esc(e.reason),
            esc(&e.object),
            e.time(),
            esc(e.reason),
            esc(&e.object),
            esc(&e.message)
        );
    }
    h.push_str("</table>");
    h
}

/// The script drawing the placement view and filtering the event log; last in the page.
pub const SCRIPT: &str = r#"<script>
(function(){
var body=document.body;
window.addEventListener('error',function(e){body.setAttribute('data-errors',String((+body.getAttribute('data-errors')||0)+1));});
function human(s){s=Math.max(0,Math.floor(s));if(s<120)return s+'s';var m=Math.floor(s/60);if(m<10)return m+'m'+(s%60?(s%60)+'s':'');if(m<180)return m+'m';var h=Math.floor(m/60);if(h<8)return h+'h'+(m%60?(m%60)+'m':'');if(h<48)return h+'h';var d=Math.floor(h/24);if(h<192)return d+'d'+(h%24?(h%24)+'h':'');return d+'d';}
function esc(s){return String(s).replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;');}
function by(x,t){return x!==null&&x<=t+1e-9;}
var el=document.getElementById('pl-data');
if(el){
 var D=JSON.parse(el.textContent),view=document.getElementById('pl-view'),slider=document.getElementById('pl-time'),at=document.getElementById('pl-at');
 var draw=function(t){
  var per=D.nodes.map(function(){return [];}),pending=[];
  D.pods.forEach(function(p){
   if(!by(p[2],t)||by(p[7],t))return;
   var st=by(p[5],t)?p[8]:by(p[4],t)?'Running':by(p[3],t)?'ContainerCreating':'Pending';
   if(by(p[6],t))st='Terminating';
   var rd=(p[9]!==null&&p[9]<=t&&!by(p[6],t))?p[10]:0;
   var chip='<span class="pl-pod ph-'+st+'" title="'+esc(p[0])+'">'+esc(p[0])+' '+st+' '+rd+'/'+p[10]+'</span>';
   if(p[1]!==null&&by(p[3],t))per[p[1]].push(chip);else pending.push(chip);
  });
  var pools={};
  D.nodes.forEach(function(n,i){if(!by(n[3],t)||by(n[4],t))return;var z=(pools[n[1]]=pools[n[1]]||{});(z[n[2]]=z[n[2]]||[]).push(i);});
  var h='';
  Object.keys(pools).sort().forEach(function(pool){
   h+='<div class="pl-pool"><h3>pool '+esc(pool)+'</h3>';
   Object.keys(pools[pool]).sort().forEach(function(zone){
    h+='<div class="pl-zone"><h4>'+esc(zone)+'</h4>';
    pools[pool][zone].forEach(function(i){h+='<div class="pl-node"><b>'+esc(D.nodes[i][0])+' ('+per[i].length+')</b>'+per[i].join('')+'</div>';});
    h+='</div>';
   });
   h+='</div>';
  });
  if(pending.length)h+='<div class="pl-pool"><h3>not on a node ('+pending.length+')</h3><div class="pl-node">'+pending.join('')+'</div></div>';
  view.innerHTML=h;
  if(at)at.textContent=human(t)+' of '+human(D.end);
 };
 var now=function(){return slider?D.end*slider.value/1000:D.end;};
 if(slider)slider.addEventListener('input',function(){draw(now());});
 draw(now());
}
var table=document.getElementById('event-log');
if(table){
 var ty=document.getElementById('ev-type'),re=document.getElementById('ev-reason'),ob=document.getElementById('ev-object'),count=document.getElementById('ev-count');
 var rows=table.querySelectorAll('tr.ev');
 var filter=function(){
  var n=0,r=re.value.toLowerCase(),o=ob.value.toLowerCase();
  rows.forEach(function(tr){
   var keep=(!ty.value||tr.getAttribute('data-type')===ty.value)&&tr.getAttribute('data-reason').toLowerCase().indexOf(r)>=0&&tr.getAttribute('data-object').toLowerCase().indexOf(o)>=0;
   tr.style.display=keep?'':'none';if(keep)n++;
  });
  count.textContent=n+' of '+rows.length+' shown';
 };
 [ty,re,ob].forEach(function(x){x.addEventListener('input',filter);});
 filter();
}
body.setAttribute('data-ok','1');
})();
</script>"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// The view's data as one JSON tree, the way it was built before rows were streamed.
    fn data_as_one_tree(pods: &[PodRow], nodes: &[NodeRow], end: f64) -> String {
        let index: std::collections::BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let nodes_json: Vec<serde_json::Value> = nodes.iter().map(node_row).collect();
        let pods_json: Vec<serde_json::Value> = pods
            .iter()
            .map(|p| {
                let node = p.node.as_deref().and_then(|n| index.get(n));
                pod_row(p, serde_json::json!(node))
            })
            .collect();
        script_json(&serde_json::json!({"end": end, "nodes": nodes_json, "pods": pods_json}))
    }

    #[test]
    fn streamed_rows_give_the_same_section_as_one_tree() {
        let pod = |s: &str| -> PodRow { serde_json::from_str(s).expect("a pod row") };
        let pods = vec![
            pod(
                r#"{"namespace":"default","name":"a</script>","phase":"Running","containers":1,
                "ready":true,"readySeconds":2.5,"restarts":0,"createdSeconds":0.0,
                "node":"n1","scheduledSeconds":0.25,"startedSeconds":1.0}"#,
            ),
            pod(
                r#"{"namespace":"ns","name":"b","phase":"Succeeded","containers":2,
                "ready":false,"restarts":1,"createdSeconds":60.0,"scheduledSeconds":60.5,
                "node":"gone","finishedSeconds":80.0,"deletedSeconds":81.0}"#,
            ),
            pod(
                r#"{"namespace":"ns","name":"c","phase":"Failed","reason":"Evicted",
                "containers":1,"ready":false,"restarts":0,"createdSeconds":0.0}"#,
            ),
        ];
        let nodes: Vec<NodeRow> = vec![
            serde_json::from_str(
                r#"{"name":"n1","pool":"general","addedSeconds":0.0,"ready":true,
                "unschedulable":false,"allocatable":{"cpuMillis":1000,"memoryBytes":1,
                "ephemeralStorageBytes":1,"pods":110}}"#,
            )
            .expect("a node row"),
        ];
        let section = placement_section(&pods, 5, &nodes, 3600.0);
        let tree = data_as_one_tree(&pods, &nodes, 3600.0);
        assert!(section.contains(&format!(
            "<script type=\"application/json\" id=\"pl-data\">{tree}</script>"
        )));
        assert!(section.contains("The first 3 of 5 pods are shown."));
        assert!(!section.contains("a</script>"));
    }
}
