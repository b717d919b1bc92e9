(function(){var w=window,d=document,l=location,n=navigator,s=d.currentScript,H=0,L,B=[],P={};
function A(k){return s&&s.getAttribute(k)}
var D=A("data-domain")||l.hostname.replace(/^www\./,""),E=A("data-api")||(s?new URL(s.src).origin:"")+"/api/event";
if(s)for(var i=0,a=s.attributes;i<a.length;i++){var m=/^(?:data-)?event-(.+)/.exec(a[i].name);if(m)P[m[1]]=a[i].value}
function T(e,o){o=o||{};var c=o.callback||function(){},x;
try{x=localStorage.plausible_ignore=="true"||localStorage.tillit_ignore=="true"}catch(z){}
if(/^localhost$|^127\.|^\[::1\]$/.test(l.hostname)&&!A("data-local")||l.protocol=="file:"||(n.webdriver||w._phantom||w.__nightmare||w.Cypress)&&!w.__plausible||x)return c();
var b={n:e,u:o.u||l.href,d:D,r:d.referrer||null},p=o.props||{};
if(e=="pageview")p=Object.assign({},P,p);if(e=="404")p=Object.assign({path:l.pathname},p);
if(Object.keys(p).length)b.p=p;if(o.revenue)b.$=o.revenue;if(o.interactive===false)b.i=false;if(H)b.h=1;if(o.sd!=null){b.sd=o.sd;b.e=o.e}
fetch(E,{method:"POST",headers:{"Content-Type":"text/plain"},keepalive:true,body:JSON.stringify(b)}).then(function(r){c({status:r.status})},function(z){c({error:z})})}
function V(){if(H||L!=l.pathname){B.forEach(function(f){f()});L=l.pathname;T("pageview")}}
var h=history,u=h.pushState;if(u){h.pushState=function(){u.apply(this,arguments);V()};w.addEventListener("popstate",V)}
w.addEventListener("pageshow",function(e){if(e.persisted){L=0;V()}});
/*EXT*/
var q=[].concat((w.plausible||{}).q||[],(w.tillit||{}).q||[]);w.plausible=w.tillit=T;
for(i=0;i<q.length;i++)T.apply(0,q[i]);
function S(){if(d.visibilityState=="prerender")return;d.removeEventListener("visibilitychange",S);V()}
d.addEventListener("visibilitychange",S);S()})();
